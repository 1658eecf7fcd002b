"""Server-rendered bar charts (inline SVG in the console): the geometry of one bar per day."""

from __future__ import annotations

from datetime import date, timedelta

CHART_DAYS = 14
DAY_CHART = {"width": 420, "height": 90, "bar": 22, "gap": 8, "top": 14}


def day_bars(
    per_day: dict[date, int], first: date, days: int = CHART_DAYS, geometry: dict | None = None
) -> tuple[list[dict], int]:
    """One bar per day from ``first`` (the tallest fills the chart): positions for the SVG
    template, and the chart's width."""
    geometry = geometry or DAY_CHART
    top = max(per_day.values(), default=0)
    usable = geometry["height"] - geometry["top"]
    bars = []
    for i in range(days):
        day = first + timedelta(days=i)
        n = per_day.get(day, 0)
        height = max(1, round(usable * n / top)) if n else 0
        x = i * (geometry["bar"] + geometry["gap"])
        bars.append(
            {
                "day": day,
                "count": n,
                "x": x,
                "label_x": x + geometry["bar"] // 2,
                "y": geometry["height"] - height,
                "count_y": geometry["height"] - height - 3,
                "height": height,
                # First, middle and last day are named: the ends aligned to the chart's edges.
                "anchor": {0: "start", days // 2: "middle", days - 1: "end"}.get(i, ""),
                "anchor_x": x
                if i == 0
                else x + geometry["bar"]
                if i == days - 1
                else x + geometry["bar"] // 2,
            }
        )
    return bars, days * (geometry["bar"] + geometry["gap"]) - geometry["gap"]
