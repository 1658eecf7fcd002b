"""Import posts from a file: JSON lines (``{"id", "text", …}`` per line) or CSV with a header
row (columns ``id``, ``text`` and optionally ``url``, ``author``, ``lang``, ``published_at``).

Bad lines are skipped, counted on the source and reported with their line number; the good ones
are stored in batches (an id already held for the source is not stored twice, so importing the
same file again adds nothing).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from copps.listening import pipeline
from copps.listening.models import Source

from .records import BadRecord, to_incoming

BATCH = 500
MAX_LINE = 64 * 1024
MAX_ERRORS_KEPT = 100


@dataclass
class ImportReport:
    read: int = 0
    stored: int = 0
    skipped: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def error(self, line: int, message: str) -> None:
        self.skipped += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append((line, message))


def _jsonl(handle):
    for number, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE:
            yield number, None, "line too long"
            continue
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            yield number, None, "not UTF-8"
            continue
        try:
            yield number, json.loads(line), ""
        except ValueError as exc:
            yield number, None, f"invalid JSON: {exc}"


def _csv(handle):
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.DictReader(text)
    try:
        header = reader.fieldnames or []
    except UnicodeDecodeError:
        yield 1, None, "header is not UTF-8"
        return
    if "id" not in header or "text" not in header:
        yield 1, None, "the header must name the columns id and text"
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            yield reader.line_num + 1, None, "not UTF-8 (rest of the file not read)"
            return
        except csv.Error as exc:
            yield reader.line_num, None, f"invalid CSV: {exc}"
            continue
        if None in row:
            yield reader.line_num, None, "more fields than the header names"
            continue
        yield reader.line_num, row, ""


def format_of(name: str) -> str:
    """``csv`` for a ``.csv`` file name, else ``jsonl``."""
    return "csv" if Path(name).suffix.lower() == ".csv" else "jsonl"


def import_file(source: Source, path: str | Path, *, fmt: str = "") -> ImportReport:
    path = Path(path)
    with path.open("rb") as handle:
        return import_stream(source, handle, fmt=fmt or format_of(path.name))


def import_stream(source: Source, handle: IO[bytes], *, fmt: str = "jsonl") -> ImportReport:
    """Import from an open binary file (a path's, or an upload's) in ``fmt`` (csv | jsonl)."""
    report = ImportReport()
    batch: list[pipeline.Incoming] = []
    for number, record, problem in (_csv if fmt == "csv" else _jsonl)(handle):
        report.read += 1
        if record is None:
            report.error(number, problem)
            continue
        try:
            batch.append(to_incoming(record))
        except BadRecord as exc:
            report.error(number, str(exc))
            continue
        if len(batch) >= BATCH:
            report.stored += pipeline.deliver(source, batch)
            batch = []
    report.stored += pipeline.deliver(source, batch)
    pipeline.skip(source, report.skipped)
    return report
