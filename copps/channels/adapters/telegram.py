"""Telegram channel: a bot, administrator of the channel, posts each message there (Bot API).

Calls go to ``https://api.telegram.org/bot<token>/<method>`` and answer
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ..., "description": "...",
"parameters": {"retry_after": n}}``:

- ``getMe``, ``getChat`` and ``getChatMember`` (check: the token works, the channel exists, the bot
  is an administrator that may post);
- ``sendMessage`` (HTML parse mode: the text escaped, the title in bold; 4,096 characters) or,
  when the message has an image, ``sendPhoto`` with the text as caption (1,024 characters: a
  longer text is cut at a word and ends with the link). Telegram has no alt text for photos;
- ``editMessageText`` / ``editMessageCaption`` for corrections ("message is not modified" is
  success), ``deleteMessage`` for retractions ("message to delete not found" is success; a
  message older than 48 hours cannot be deleted: a permanent error, recorded as not deleted).

The Bot API has no idempotency key and no way to list a channel's posts, so an unanswered
``sendMessage`` is flagged *unknown* for a person (``idempotent`` and ``can_find`` are False).
429 answers carry ``parameters.retry_after``, which is honoured; 401 (token revoked) and 403
(bot removed from the channel) disable the channel. Limit: 20 messages a minute per channel.

The bot token is part of every URL: a logging filter keeps it out of the HTTP client's log.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

from django.utils.translation import gettext_lazy as _

from copps.newsroom.renditions import GRAPHEME_RE

from .. import sandbox
from ..base import Adapter, ChannelError, Field, Outcome
from .mastodon import load_image

API = "https://api.telegram.org"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CHAT_RE = re.compile(r"^(@[A-Za-z][A-Za-z0-9_]{3,31}|-?\d{5,20})$")
TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
BOT_PATH_RE = re.compile(r"/bot[^/\s]+/")


class _RedactBotTokens(logging.Filter):
    """Replaces ``/bot<token>/`` in log records of the HTTP client by ``/bot<redacted>/``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/bot" in message:
            record.msg, record.args = BOT_PATH_RE.sub("/bot<redacted>/", message), ()
        return True


for _name in ("httpx", "httpcore"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _RedactBotTokens) for f in _logger.filters):
        _logger.addFilter(_RedactBotTokens())


def utf16_len(text: str) -> int:
    """Telegram measures text in UTF-16 code units (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, link: str, limit: int) -> str:
    """``text`` if it fits ``limit``, else cut at a word with an ellipsis and the link after it."""
    if utf16_len(text) <= limit:
        return text
    if link and text.endswith(link):
        text = text[: -len(link)].rstrip()
    tail = f"…\n{link}" if link else "…"
    room = limit - utf16_len(tail)
    kept: list[str] = []
    used, last_break = 0, 0
    for grapheme in GRAPHEME_RE.findall(text):
        used += utf16_len(grapheme)
        if used > room:
            break
        if grapheme.isspace():
            last_break = len(kept)
        kept.append(grapheme)
    head = "".join(kept[: last_break or len(kept)]).rstrip(" \t\n,;:.-–—/([")
    return head + tail


def to_html(text: str, title: str) -> str:
    """Telegram HTML: everything escaped, the title (when the text starts with it) in bold."""
    title = (title or "").strip()
    if title and text.startswith(title):
        rest = text[len(title) :]
        return f"<b>{html.escape(title, quote=False)}</b>{html.escape(rest, quote=False)}"
    return html.escape(text, quote=False)


class TelegramAdapter(Adapter):
    kind = "telegram"
    rendition = "telegram"
    idempotent = False
    can_edit = True
    can_delete = True
    can_find = False
    rate_per_minute = 20
    sandbox_base = sandbox.base("telegram")
    fields = (
        Field(
            "chat_id",
            _("Channel"),
            help=_("@name of a public channel, or the numeric id (-100…) of a private one."),
        ),
        Field(
            "bot_token",
            _("Bot token"),
            secret=True,
            help=_(
                "From @BotFather. Add the bot to the channel as an administrator allowed to "
                "post, edit and delete messages."
            ),
        ),
    )

    # Plumbing -----------------------------------------------------------------------------

    def _call(self, method: str, *, what: str, **kwargs: Any) -> Any:
        url = f"{self.api_base(API)}/bot{self.setting('bot_token')}/{method}"
        response = self.call("POST", url, what=what, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if response.status_code == 200:
                raise ChannelError(f"{what}: malformed response body", maybe_sent=True)
            raise ChannelError.from_http(response, what)
        if body.get("ok") is True and response.status_code == 200:
            return body.get("result")
        raise self._error(response.status_code, body, what)

    @staticmethod
    def _error(status: int, body: dict, what: str) -> ChannelError:
        raw_code = body.get("error_code")
        code: int = raw_code if isinstance(raw_code, int) else status
        description = str(body.get("description") or body.get("error") or "")[:300]
        message = f"{what}: {code} {description}".strip()
        raw_parameters = body.get("parameters")
        parameters: dict = raw_parameters if isinstance(raw_parameters, dict) else {}
        if code == 429:
            wait = parameters.get("retry_after")
            seconds = float(wait) if isinstance(wait, int | float) and wait >= 0 else None
            return ChannelError(message, retry_after=seconds)
        if code in (401, 403):
            return ChannelError(message, permanent=True, disable_channel=True)
        if parameters.get("migrate_to_chat_id"):
            return ChannelError(
                f"{message} (the chat is now {parameters['migrate_to_chat_id']}: update the "
                "channel's settings)",
                permanent=True,
                disable_channel=True,
            )
        if code == 400 and "chat not found" in description.lower():
            return ChannelError(message, permanent=True, disable_channel=True)
        if code >= 500:
            return ChannelError(message, maybe_sent=True)
        return ChannelError(message, permanent=True)

    @staticmethod
    def _target(target) -> tuple[str, int]:
        chat, _sep, message_id = (target.external_id or "").rpartition(":")
        if not chat or not message_id.isdigit():
            raise ChannelError("the post has no Telegram message id", permanent=True)
        return chat, int(message_id)

    @staticmethod
    def _url(chat: dict, message_id: int) -> str:
        if chat.get("username"):
            return f"https://t.me/{chat['username']}/{message_id}"
        chat_id = str(chat.get("id", ""))
        if chat_id.startswith("-100"):  # a private channel: a link for its members
            return f"https://t.me/c/{chat_id[4:]}/{message_id}"
        return ""

    def _text(self, delivery, limit: int) -> str:
        p = delivery.payload
        text, link = p.get("text", ""), p.get("link", "")
        if link and link not in text:
            text = f"{text}\n\n{link}"  # the channel always links to the full message
        return to_html(fit(text, link, limit), p.get("title", ""))

    # The contract -------------------------------------------------------------------------

    @classmethod
    def validate_config(cls, config, secrets):
        errors = super().validate_config(config, secrets)
        chat = str(config.get("chat_id", "")).strip()
        if chat and not CHAT_RE.match(chat):
            errors["chat_id"] = str(_("Enter @channelname or the channel's numeric id (-100…)."))
        token = str(secrets.get("bot_token", "")).strip()
        if token and not TOKEN_RE.match(token):
            errors["bot_token"] = str(_("A bot token looks like 123456789:AA… (from @BotFather)."))
        return errors

    def check(self) -> str:
        me = self._call("getMe", what="getMe") or {}
        chat_id = self.setting("chat_id")
        chat = self._call("getChat", what="getChat", json={"chat_id": chat_id}) or {}
        member = (
            self._call(
                "getChatMember",
                what="getChatMember",
                json={"chat_id": chat_id, "user_id": me.get("id")},
            )
            or {}
        )
        may_post = member.get("status") == "creator" or (
            member.get("status") == "administrator"
            and (chat.get("type") != "channel" or member.get("can_post_messages"))
        )
        if not may_post:
            raise ChannelError(
                "the bot is not an administrator allowed to post in this channel", permanent=True
            )
        where = f"@{chat['username']}" if chat.get("username") else str(chat.get("id", chat_id))
        return f"@{me.get('username', '?')} posts to {chat.get('title', where)} ({where})"

    def post(self, delivery) -> Outcome:
        p = delivery.payload
        chat_id = self.setting("chat_id")
        images = list(p.get("images") or [])
        if images:
            data, name, mime = load_image(images[0])
            message = self._call(
                "sendPhoto",
                what="sendPhoto",
                data={
                    "chat_id": chat_id,
                    "caption": self._text(delivery, CAPTION_LIMIT),
                    "parse_mode": "HTML",
                },
                files={"photo": (name, data, mime)},
                timeout=60.0,
            )
        else:
            message = self._call(
                "sendMessage",
                what="sendMessage",
                json={
                    "chat_id": chat_id,
                    "text": self._text(delivery, TEXT_LIMIT),
                    "parse_mode": "HTML",
                    "link_preview_options": {"url": p.get("link", "")} if p.get("link") else {},
                },
            )
        if not isinstance(message, dict) or not message.get("message_id"):
            raise ChannelError(
                f"{'sendPhoto' if images else 'sendMessage'}: no message id", maybe_sent=True
            )
        chat = message.get("chat") or {}
        message_id = int(message["message_id"])
        return Outcome(f"{chat.get('id', chat_id)}:{message_id}", self._url(chat, message_id))

    def update(self, delivery, target) -> Outcome:
        chat_id, message_id = self._target(target)
        photo = bool(target.payload.get("images"))
        method = "editMessageCaption" if photo else "editMessageText"
        body: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "parse_mode": "HTML"}
        if photo:
            body["caption"] = self._text(delivery, CAPTION_LIMIT)
        else:
            body["text"] = self._text(delivery, TEXT_LIMIT)
        try:
            self._call(method, what=method, json=body)
        except ChannelError as err:
            if "message is not modified" not in str(err):
                raise
        return Outcome(target.external_id, target.url)

    def delete(self, delivery, target) -> None:
        chat_id, message_id = self._target(target)
        try:
            self._call(
                "deleteMessage",
                what="deleteMessage",
                json={"chat_id": chat_id, "message_id": message_id},
            )
        except ChannelError as err:
            text = str(err).lower()
            if "message to delete not found" in text:
                return  # removed by hand already
            if "can't be deleted" in text:
                raise ChannelError(
                    f"{err} (Telegram lets a bot delete a message only within 48 hours: "
                    "remove it by hand in the channel)",
                    permanent=True,
                ) from None
            raise

    def preview(self, delivery) -> dict:
        p = delivery.payload
        return {
            "text": p.get("text", ""),
            "title": p.get("title"),
            "images": [{"url": i.get("url"), "alt": i.get("alt")} for i in p.get("images", [])[:1]],
        }


__all__ = ["TelegramAdapter", "fit", "to_html", "utf16_len"]
