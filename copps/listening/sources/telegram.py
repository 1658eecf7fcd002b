"""Telegram channels through the Bot API: posts of channels where the bot is an administrator.

Telegram's Bot API cannot read arbitrary public channels (that needs the MTProto user API): add
a bot of your own as an administrator to each channel to listen to. A public channel we do not
administer is read from its web preview instead: configure ``{"channel": "name"}`` without a
token (``tgpreview.py``). Use a bot for listening
only: ``getUpdates`` hands each update out once per offset, so a bot shared with another
reader would steal its updates (and it fails with 409 while the bot has a webhook).

Config: ``{"token": "<bot token>", "chats": ["@politiegent", "-1001234"] (optional filter),
"api": "https://api.telegram.org", "interval": 300}``.
Cursor: the next ``update_id`` to ask for (``offset``), stored with the posts in one
transaction; Telegram forgets updates below the offset we send, and we send it only once the
posts before it are stored: no loss, no duplicates.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from copps.lib import http
from copps.listening import pipeline
from copps.listening.models import Source

from .base import SourceError, clip, usable

DEFAULT_API = "https://api.telegram.org"
LIMIT = 100
MAX_ROUNDS = 20


def _wanted(source: Source, chat: dict) -> bool:
    chats = source.config.get("chats") or []
    if not chats:
        return True
    names = {str(chat.get("id", "")), f"@{chat.get('username', '')}".lower()}
    return any(str(wanted).lower() in names for wanted in chats)


def to_incoming(post: object) -> pipeline.Incoming | None:
    """A channel post (a Telegram Message) as an ``Incoming``; ``None`` if it has no text."""
    if not isinstance(post, dict) or not isinstance(post.get("chat"), dict):
        return None
    chat, number = post["chat"], post.get("message_id")
    if not isinstance(number, int) or not isinstance(chat.get("id"), int):
        return None
    text = usable(post.get("text") or post.get("caption"))
    if text is None:
        return None
    username = chat.get("username") if isinstance(chat.get("username"), str) else ""
    date = post.get("date")
    return pipeline.Incoming(
        external_id=f"{chat['id']}/{number}",
        text=text,
        url=f"https://t.me/{username}/{number}" if username else "",
        author=clip(f"@{username}" if username else chat.get("title") or "", 200),
        published_at=datetime.fromtimestamp(date, tz=UTC) if isinstance(date, int) else None,
    )


def poll(source: Source) -> int:
    if source.config.get("channel") and not source.config.get("token"):
        from . import tgpreview  # a public channel we do not administer: its web preview

        return tgpreview.poll(source)
    token = str(source.config.get("token", ""))
    if not token:
        raise SourceError("no bot token configured")
    api = str(source.config.get("api") or DEFAULT_API).rstrip("/")
    stored = 0
    for _round in range(MAX_ROUNDS):
        source.refresh_from_db(fields=["cursor"])
        query = {
            "timeout": "0",
            "limit": str(LIMIT),
            "allowed_updates": json.dumps(["channel_post"]),
        }
        if source.cursor.isdigit():
            query["offset"] = source.cursor
        response = http.request(
            "GET",
            f"{api}/bot{token}/getUpdates?{urlencode(query)}",
            allow_private=bool(source.config.get("allow_private", False)),
        )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not answer.get("ok"):
            description = answer.get("description", "") if isinstance(answer, dict) else ""
            raise SourceError(
                f"getUpdates answered HTTP {response.status_code} {description}"[:300]
            )
        updates = answer.get("result")
        if not isinstance(updates, list) or not updates:
            break
        items, skipped, offset = [], 0, int(source.cursor) if source.cursor.isdigit() else 0
        for update in updates:
            update_id = update.get("update_id") if isinstance(update, dict) else None
            if isinstance(update_id, int):
                offset = max(offset, update_id + 1)
            post = update.get("channel_post") if isinstance(update, dict) else None
            if post is None:
                continue  # another kind of update: nothing to listen to
            if isinstance(post, dict) and not _wanted(source, post.get("chat") or {}):
                continue
            item = to_incoming(post)
            if item is None:
                skipped += 1
            else:
                items.append(item)
        stored += pipeline.deliver(source, items, cursor=str(offset) if offset else None)
        pipeline.skip(source, skipped)
        if len(updates) < LIMIT:
            break
    return stored
