"""Posts handed to copps as plain records (the webhook, JSONL/CSV import):
``{"id", "text", "url"?, "author"?, "lang"?, "published_at"?}``."""

from __future__ import annotations

from copps.listening import pipeline

from .base import clip, parse_time, usable


class BadRecord(ValueError):
    pass


def to_incoming(record: object) -> pipeline.Incoming:
    """The record as an ``Incoming``, or ``BadRecord`` saying what is wrong."""
    if not isinstance(record, dict):
        raise BadRecord("not an object")
    key = record.get("id")
    if isinstance(key, bool) or not isinstance(key, str | int) or not str(key).strip():
        raise BadRecord("missing id")
    text = usable(record.get("text"))
    if text is None:
        raise BadRecord("missing, empty, oversized or invalid text")
    url = clip(record.get("url") or "", 500)
    return pipeline.Incoming(
        external_id=clip(key, 500),
        text=text,
        url=url if url.startswith(("https://", "http://")) else "",
        author=clip(record.get("author") or "", 200),
        language=clip(record.get("lang") or "", 8),
        published_at=parse_time(record.get("published_at")),
    )
