"""What every source adapter shares: usable text, times, HTML to plain text, the error type."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import nh3
from django.utils.dateparse import parse_datetime

from copps.listening.pipeline import MAX_TEXT


class SourceError(Exception):
    """A run of a source failed (HTTP error, unreadable answer): recorded in ``last_error``;
    the next run retries from the stored cursor."""


_BLOCK_END = re.compile(r"(?i)<br\s*/?>|</p\s*>|</li\s*>|</blockquote\s*>|</h[1-6]\s*>")


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (a Mastodon status, a feed entry's summary): tags dropped
    by the sanitiser, entities decoded, paragraphs and line breaks kept as new lines."""
    marked = _BLOCK_END.sub("\n", fragment or "")
    text = html.unescape(nh3.clean(marked, tags=set(), attributes={}))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line).strip()


def usable(text: object) -> str | None:
    """The text if a post may be stored: a non-empty string, valid UTF-8 (no lone surrogates,
    no NUL), at most ``MAX_TEXT`` characters. ``None`` means: skip and count."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        return None
    if "\x00" in text:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text


def clip(value: object, size: int) -> str:
    """A short string field (author, url, language) from untrusted input."""
    if not isinstance(value, str | int):
        return ""
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return ""
    return text.replace("\x00", "")[:size]


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time (``2026-07-04T10:00:00.123Z``) as an aware datetime, else ``None``."""
    if not isinstance(value, str):
        return None
    try:
        moment = parse_datetime(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def error_text(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"[:500]
