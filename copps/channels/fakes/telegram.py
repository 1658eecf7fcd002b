"""Sandbox Telegram Bot API: the methods copps uses, answering like api.telegram.org.

``/bot<token>/<method>`` with parameters in the query string, a form, multipart or JSON; answers
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": n, "description": "..."}``.
Messages are SandboxPost rows (service "telegram", external_id ``<chat id>:<message id>``).
HTML parse mode is parsed into plain text and entities (offsets in UTF-16 code units), with
Telegram's limits (4,096 characters, captions 1,024) and its errors ("message is not modified",
"message to delete not found", "message can't be deleted" after 48 hours).

Chats: ``@name`` is a public channel, ``-100<digits>`` a private one; anything else is "chat not
found". Any non-empty token is the sandbox bot except "revoked" (401 Unauthorized).
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import timedelta
from html.parser import HTMLParser

import httpx
from django.utils import timezone

from copps.channels import sandbox
from copps.channels.models import SandboxPost

from .mastodon import parse_form

SERVICE = "telegram"
REVOKED_TOKEN = "revoked"  # noqa: S105 - the sandbox's stand-in for a revoked bot token
BOT = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Politie sandbox",
    "username": "politie_sandbox_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
DELETE_WINDOW = timedelta(hours=48)
URL_RE = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]']")
TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "s": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
}


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def ok(result) -> httpx.Response:
    return httpx.Response(200, json={"ok": True, "result": result})


def fail(code: int, description: str, **parameters) -> httpx.Response:
    body: dict = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return httpx.Response(code, json=body)


class EntityError(ValueError):
    pass


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.entities: list[dict] = []
        self.open: list[tuple[str, int, dict]] = []

    def handle_starttag(self, tag, attrs):
        if tag not in TAGS:
            raise EntityError(f'Unsupported start tag "{tag}"')
        entity = {"type": TAGS[tag]}
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if not href:
                raise EntityError('Can\'t find "href" attribute of the "a" tag')
            entity["url"] = href
        self.open.append((tag, _utf16(self.text), entity))

    def handle_endtag(self, tag):
        if not self.open or self.open[-1][0] != tag:
            raise EntityError(f'Unmatched end tag "{tag}"')
        _tag, start, entity = self.open.pop()
        length = _utf16(self.text) - start
        if length:
            self.entities.append({"offset": start, "length": length, **entity})

    def handle_data(self, data):
        self.text += data


def parse(text: str, parse_mode: str) -> tuple[str, list[dict]]:
    """(plain text, entities) as Telegram makes them from a text in ``parse_mode``."""
    if parse_mode.upper() != "HTML":
        plain, entities = text, []
    else:
        parser = _Parser()
        parser.feed(text)
        parser.close()
        if parser.open:
            raise EntityError(
                f'Can\'t find end tag corresponding to start tag "{parser.open[-1][0]}"'
            )
        plain, entities = parser.text, parser.entities
    for match in URL_RE.finditer(plain):  # Telegram links bare URLs by itself
        offset = _utf16(plain[: match.start()])
        if not any(e["offset"] <= offset < e["offset"] + e["length"] for e in entities):
            entities.append({"offset": offset, "length": _utf16(match.group(0)), "type": "url"})
    entities.sort(key=lambda e: e["offset"])
    return plain, entities


def _chat(chat_id: str) -> dict | None:
    chat_id = chat_id.strip()
    if re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,31}", chat_id):
        number = int(hashlib.sha256(chat_id.lower().encode()).hexdigest()[:12], 16) % 10**10
        return {
            "id": -1000000000000 - number,
            "title": f"Politie {chat_id[1:]} (sandbox)",
            "username": chat_id[1:],
            "type": "channel",
        }
    if re.fullmatch(r"-100\d{5,13}", chat_id):
        existing = SandboxPost.objects.filter(service=SERVICE, account=chat_id).first()
        if existing and existing.payload.get("chat"):
            return existing.payload["chat"]
        return {"id": int(chat_id), "title": "Politie (sandbox, private)", "type": "channel"}
    return None


def _message(chat: dict, message_id: str):
    return SandboxPost.objects.filter(
        service=SERVICE, external_id=f"{chat['id']}:{message_id}", deleted_at__isnull=True
    ).first()


def _send(chat: dict, fields: dict, files: dict, photo: bool) -> httpx.Response:
    key = "caption" if photo else "text"
    try:
        plain, entities = parse(fields.get(key, ""), fields.get("parse_mode", ""))
    except EntityError as exc:
        return fail(400, f"Bad Request: can't parse entities: {exc}")
    if photo:
        if "photo" not in files and not fields.get("photo"):
            return fail(400, "Bad Request: there is no photo in the request")
        if _utf16(plain) > 1024:
            return fail(400, "Bad Request: message caption is too long")
    else:
        if not plain.strip():
            return fail(400, "Bad Request: message text is empty")
        if _utf16(plain) > 4096:
            return fail(400, "Bad Request: message is too long")
    previous = SandboxPost.objects.filter(service=SERVICE, account=str(chat["id"])).count()
    message_id = previous + 1
    message: dict = {
        "message_id": message_id,
        "sender_chat": chat,
        "chat": chat,
        "date": int(time.time()),
    }
    if photo:
        size = len(files["photo"][1]) if "photo" in files else 0
        unique = hashlib.sha256(files["photo"][1] if "photo" in files else b"").hexdigest()[:16]
        message["photo"] = [
            {
                "file_id": f"AgAC{unique}s",
                "file_unique_id": f"AQAD{unique}s",
                "width": 90,
                "height": 90,
                "file_size": min(size, 1500),
            },
            {
                "file_id": f"AgAC{unique}m",
                "file_unique_id": f"AQAD{unique}m",
                "width": 800,
                "height": 800,
                "file_size": size,
            },
        ]
        message["caption"] = plain
        if entities:
            message["caption_entities"] = entities
        message["photo_file_name"] = files["photo"][0] if "photo" in files else ""
    else:
        message["text"] = plain
        if entities:
            message["entities"] = entities
    url = f"https://t.me/{chat['username']}/{message_id}" if chat.get("username") else ""
    SandboxPost.objects.create(
        service=SERVICE,
        account=str(chat["id"]),
        external_id=f"{chat['id']}:{message_id}",
        text=plain,
        payload=message | {"sent_html": fields.get(key, "")},
        url=url,
    )
    message.pop("photo_file_name", None)
    return ok(message)


def _edit(chat: dict, fields: dict, caption: bool) -> httpx.Response:
    post = _message(chat, fields.get("message_id", ""))
    if post is None:
        return fail(400, "Bad Request: message to edit not found")
    is_photo = "photo" in post.payload
    if caption and not is_photo:
        return fail(400, "Bad Request: there is no caption in the message to edit")
    if not caption and is_photo:
        return fail(400, "Bad Request: there is no text in the message to edit")
    key = "caption" if caption else "text"
    try:
        plain, entities = parse(fields.get(key, ""), fields.get("parse_mode", ""))
    except EntityError as exc:
        return fail(400, f"Bad Request: can't parse entities: {exc}")
    if _utf16(plain) > (1024 if caption else 4096):
        return fail(400, f"Bad Request: message {'caption ' if caption else ''}is too long")
    entity_key = "caption_entities" if caption else "entities"
    if plain == post.payload.get(key) and entities == post.payload.get(entity_key, []):
        return fail(
            400,
            "Bad Request: message is not modified: specified new message content and reply "
            "markup are exactly the same as a current content and reply markup of the message",
        )
    payload = dict(post.payload)
    payload[key] = plain
    payload[entity_key] = entities
    payload["edit_date"] = int(time.time())
    payload["sent_html"] = fields.get(key, "")
    post.text, post.payload, post.edited_at = plain, payload, timezone.now()
    post.save(update_fields=["text", "payload", "edited_at"])
    answer = {k: v for k, v in payload.items() if k not in ("sent_html", "photo_file_name")}
    return ok(answer)


def handle(request: httpx.Request) -> httpx.Response:
    match = re.fullmatch(r"/bot([^/]*)/(\w+)", request.url.path)
    if not match:
        return fail(404, "Not Found")
    token, method = match[1], match[2]
    if not token or token == REVOKED_TOKEN:
        return fail(401, "Unauthorized")
    raw, files = parse_form(request)
    fields = {k: v[0] for k, v in raw.items() if v}
    if method == "getMe":
        return ok(BOT)
    chat = _chat(fields.get("chat_id", ""))
    if chat is None:
        return fail(400, "Bad Request: chat not found")
    if method == "getChat":
        return ok(chat | {"accent_color_id": 0, "max_reaction_count": 11})
    if method == "getChatMember":
        if str(fields.get("user_id")) != str(BOT["id"]):
            return fail(400, "Bad Request: user not found")
        return ok(
            {
                "user": BOT,
                "status": "administrator",
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_post_messages": True,
                "can_edit_messages": True,
                "can_invite_users": True,
                "can_change_info": False,
            }
        )
    if method == "sendMessage":
        return _send(chat, fields, files, photo=False)
    if method == "sendPhoto":
        return _send(chat, fields, files, photo=True)
    if method in ("editMessageText", "editMessageCaption"):
        return _edit(chat, fields, caption=method == "editMessageCaption")
    if method == "deleteMessage":
        post = _message(chat, fields.get("message_id", ""))
        if post is None:
            return fail(400, "Bad Request: message to delete not found")
        if post.created_at < timezone.now() - DELETE_WINDOW:
            return fail(400, "Bad Request: message can't be deleted")
        post.deleted_at = timezone.now()
        post.save(update_fields=["deleted_at"])
        return ok(True)
    return fail(404, "Not Found")


sandbox.add(SERVICE, handle)
