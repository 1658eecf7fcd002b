"""Telegram public channels the force does not administer, read from their public web preview.

The Bot API reads only channels where our bot is an administrator (``telegram.py``). Any public
channel also has a web preview, ``https://t.me/s/<channel>``: an HTML page of its latest posts,
oldest first, one ``<div class="tgme_widget_message" data-post="<channel>/<id>">`` each, the
text in ``tgme_widget_message_text``, the time in ``<time datetime="…">``. ``?after=<id>``
gives the posts after that id, ``?before=<id>`` the ones before it.

Config: ``{"channel": "politiebe", "backfill": 0, "interval": 300}`` (``backfill``: how many
older pages to read on the first run; at most ``MAX_BACKFILL``). ``"preview"`` may name another
base URL (tests, a mirror). Cursor: the id of the newest post stored, stored with the posts; a
run asks ``?after=<cursor>`` page after page until nothing newer comes: no loss (ids only grow),
no duplicates (and the pipeline refuses an id it holds already).

Hostile pages: the page is fetched through ``copps.lib.http`` (at most ``MAX_PAGE`` bytes) and
parsed with the standard library's ``html.parser`` (no scripts run, nothing fetched; text
inside ``<script>``/``<style>`` is ignored). A page too large or without any message structure
is counted as skipped and recorded as the run's error; a message without a usable id or text
(oversized, empty, another channel's id) is skipped and counted; broken nesting ends the open
message where the next one starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, urlencode

from copps.lib import http
from copps.listening import pipeline
from copps.listening.models import Source

from .base import SourceError, clip, parse_time, usable

DEFAULT_PREVIEW = "https://t.me/s"
MAX_PAGE = 2 * 1024 * 1024
MAX_ROUNDS = 20
MAX_BACKFILL = 10
MAX_MESSAGES = 200  # per page; Telegram sends about 20
_CHANNEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_POST = re.compile(r"^([A-Za-z][A-Za-z0-9_]{3,31})/([0-9]{1,12})$")
_BREAKS = {"br", "p", "div", "blockquote"}


@dataclass
class Raw:
    post: str
    text: list[str] = field(default_factory=list)
    time: str = ""


class PreviewParser(HTMLParser):
    """The messages of a preview page: their ``data-post``, text and time."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.messages: list[Raw] = []
        self.structure = False  # saw at least one message div or the page's message list
        self._current: Raw | None = None
        self._depth = 0  # open divs inside the current message
        self._text_depth = 0  # open divs inside its text (0: not in the text)
        self._skip = 0  # inside <script>/<style>, or a quoted reply inside the message

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
            return
        values = dict(attrs)
        classes = set((values.get("class") or "").split())
        if "tgme_channel_history" in classes:
            self.structure = True
        if tag == "div" and "tgme_widget_message" in classes:
            self.structure = True
            self._close()  # broken nesting: a message never closed ends here
            if len(self.messages) < MAX_MESSAGES:
                self._current = Raw(post=values.get("data-post") or "")
                self._depth = 1
            return
        current = self._current
        if current is None:
            return
        if tag == "div":
            self._depth += 1
            if self._text_depth:
                self._text_depth += 1
            elif "tgme_widget_message_text" in classes and not current.text and not self._skip:
                self._text_depth = 1
        if tag == "a" and "tgme_widget_message_reply" in classes:
            self._skip += 1  # the quoted message a reply answers is not this post's text
        if tag in _BREAKS and self._text_depth:
            current.text.append("\n")
        if tag == "time" and not current.time and values.get("datetime"):
            current.time = values.get("datetime") or ""

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" and self._current is not None and self._text_depth:
            self._current.text.append("\n")
        elif tag != "br":
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
            return
        if self._current is None:
            return
        if tag == "a" and self._skip:
            self._skip -= 1
        if tag != "div":
            return
        if self._text_depth:
            self._text_depth -= 1
            if self._text_depth == 0:
                self._current.text.append("\x00")  # the end of the text: nothing more added
        self._depth -= 1
        if self._depth <= 0:
            self._close()

    def handle_data(self, data: str) -> None:
        current = self._current
        if current is None or not self._text_depth or self._skip:
            return
        current.text.append(data)

    def _close(self) -> None:
        if self._current is not None:
            self.messages.append(self._current)
        self._current = None
        self._depth = self._text_depth = 0

    def close(self) -> None:
        super().close()
        self._close()


def valid_channel(name: str) -> bool:
    """A public channel name as in ``t.me/<name>``: 4 to 32 letters, digits or _."""
    return bool(_CHANNEL.match(name))


def channel_of(source: Source) -> str:
    name = str(source.config.get("channel", "")).strip().lstrip("@")
    if not _CHANNEL.match(name):
        raise SourceError("no valid public channel name configured")
    return name


def to_incoming(raw: Raw, channel: str) -> tuple[int, pipeline.Incoming | None]:
    """(message id, the post) — id 0 and no post for a message to skip and count."""
    found = _POST.match(raw.post.strip())
    if not found or found.group(1).lower() != channel.lower():
        return 0, None
    number = int(found.group(2))
    joined = "".join(raw.text).split("\x00", 1)[0]
    lines = (" ".join(line.split()) for line in joined.splitlines())
    text = usable("\n".join(line for line in lines if line))
    if text is None:
        return number, None
    return number, pipeline.Incoming(
        external_id=f"{found.group(1).lower()}/{number}",
        text=text,
        url=f"https://t.me/{found.group(1)}/{number}",
        author=clip(f"@{found.group(1)}", 200),
        published_at=parse_time(raw.time),
    )


def read_page(source: Source, channel: str, **query: int) -> list[Raw]:
    base = str(source.config.get("preview") or DEFAULT_PREVIEW).rstrip("/")
    url = f"{base}/{quote(channel, safe='')}"
    if query:
        url += f"?{urlencode(query)}"
    try:
        response = http.request(
            "GET",
            url,
            headers={"Accept": "text/html"},
            max_bytes=MAX_PAGE,
            allow_private=bool(source.config.get("allow_private", False)),
        )
    except http.NoAnswer as exc:
        if "larger than" in str(exc):
            pipeline.skip(source, 1)
        raise SourceError(f"preview page: {exc}"[:300]) from None
    if response.status_code != 200:
        raise SourceError(f"preview page answered HTTP {response.status_code}")
    parser = PreviewParser()
    try:
        parser.feed(response.content.decode("utf-8", "replace"))
        parser.close()
    except Exception as exc:  # noqa: BLE001 - html.parser on hostile input: the page is skipped
        pipeline.skip(source, 1)
        raise SourceError(f"unreadable preview page: {exc.__class__.__name__}") from None
    if not parser.structure:
        pipeline.skip(source, 1)
        raise SourceError("not a channel preview page (a private channel, or no such channel)")
    return parser.messages


def _deliver(source: Source, channel: str, page: list[Raw], newest: int) -> tuple[int, int, int]:
    """Hand over a page; (number handed over, newest id, oldest id on the page)."""
    items, skipped, oldest = [], 0, 0
    for raw in page:
        number, item = to_incoming(raw, channel)
        if number:
            newest = max(newest, number)
            oldest = min(oldest, number) if oldest else number
        if item is None:
            skipped += 1
        else:
            items.append(item)
    handed = pipeline.deliver(source, items, cursor=str(newest) if newest else None)
    pipeline.skip(source, skipped)
    return handed, newest, oldest


def poll(source: Source) -> int:
    """Read the posts after the cursor (or, on the first run, the latest page and ``backfill``
    older ones). Returns the number handed over."""
    channel = channel_of(source)
    source.refresh_from_db(fields=["cursor"])
    cursor = int(source.cursor) if source.cursor.isdigit() else 0
    stored = 0
    if not cursor:
        handed, cursor, oldest = _deliver(source, channel, read_page(source, channel), 0)
        stored += handed
        backfill = source.config.get("backfill", 0)
        pages = min(backfill, MAX_BACKFILL) if isinstance(backfill, int) else 0
        for _page in range(pages):
            if oldest <= 1:
                break
            handed, cursor, oldest = _deliver(
                source, channel, read_page(source, channel, before=oldest), cursor
            )
            stored += handed
        if not cursor:
            return stored
    for _round in range(MAX_ROUNDS):
        page = read_page(source, channel, after=cursor)
        handed, newest, _oldest = _deliver(source, channel, page, cursor)
        stored += handed
        if newest <= cursor:
            break
        cursor = newest
    return stored
