"""Bluesky (AT Protocol): one ``app.bsky.feed.post`` record per delivery in the account's repo.

XRPC calls on the account's PDS (``service``, default https://bsky.social):

- ``com.atproto.server.createSession`` {identifier, password} -> accessJwt, refreshJwt, did, handle;
  the session is kept in the process and renewed with ``refreshSession`` when a call answers
  ``ExpiredToken`` (createSession itself is limited to 30 per 5 minutes and 300 a day);
- ``com.atproto.repo.uploadBlob`` (raw bytes) for each image (at most 4, 1,000,000 bytes each;
  larger ones are scaled down), referenced from an ``app.bsky.embed.images`` embed with alt text;
  without images the link becomes an ``app.bsky.embed.external`` card;
- ``com.atproto.repo.createRecord`` with a **record key derived from the delivery** (a valid TID:
  the delivery's creation time in microseconds and a clock id from its key). A second create with
  the same key cannot make a second post: the PDS refuses it (today with a 500, in newer versions
  with an explicit error), and copps then reads the record back with ``getRecord`` and takes it as
  sent. So an unanswered call is retried safely (``idempotent``), and a retry reads back first;
- ``com.atproto.repo.getRecord`` (``find``: exact, by record key) and ``deleteRecord``.

Replies, mentions and quotes (the inbox): ``app.bsky.notification.listNotifications`` (with
``reasons`` reply/mention/quote), newest first, paged back with its ``cursor`` until the stored
cursor, which is the newest ``indexedAt`` seen (items at that very time are read again and
deduplicated, so none is skipped). A reply is a post whose record carries ``reply.root`` and
``reply.parent`` strong references (uri + cid), created with ``createRecord``.

Bluesky has no edits (``can_edit`` False): a correction is posted as a new post that links to the
updated page. Links in the text get facets with UTF-8 **byte** offsets, as the lexicon requires.
Text limit 300 graphemes (the rendition fits). Writes are limited to 5,000 points an hour (a
create costs 3), so about 27 posts a minute.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import sandbox
from ..base import Adapter, ChannelError, Field, Mention, Outcome, as_dict, plain_text
from .mastodon import load_image

DEFAULT_SERVICE = "https://bsky.social"
WEB = "https://bsky.app"
COLLECTION = "app.bsky.feed.post"
MAX_IMAGES = 4
MAX_BLOB = 1_000_000
MAX_ALT = 2000
B32_SORTABLE = "234567abcdefghijklmnopqrstuvwxyz"
TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
APP_PASSWORD_RE = re.compile(r"^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$")
HANDLE_RE = re.compile(r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}$")
# A URL in post text, without the punctuation that usually follows one.
URL_RE = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'’”…]")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Sessions kept per process: createSession is rate limited (300 a day), so reuse tokens.
_sessions: dict[tuple, dict] = {}
_lock = threading.Lock()


def tid(micros: int, clock_id: int) -> str:
    """A TID: 64 bits (top bit 0, 53 bits of microseconds, 10 bits of clock id), base32-sortable."""
    if not 0 <= micros < 2**53:
        raise ValueError("timestamp out of range for a TID")
    value = (micros << 10) | (clock_id & 0x3FF)
    chars = []
    for _i in range(13):
        chars.append(B32_SORTABLE[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def record_key(delivery) -> str:
    """The delivery's own record key: same delivery, same key, in any process, on any retry."""
    micros = (delivery.created_at - EPOCH) // timedelta(microseconds=1)
    clock_id = int(hashlib.sha256(delivery.key.encode()).hexdigest()[:8], 16) % 1024
    return tid(micros, clock_id)


def link_facets(text: str) -> list[dict]:
    """Link facets for the URLs in ``text``, with UTF-8 byte offsets (not characters)."""
    facets = []
    for match in URL_RE.finditer(text):
        start = len(text[: match.start()].encode())
        end = start + len(match.group(0).encode())
        facets.append(
            {
                "index": {"byteStart": start, "byteEnd": end},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": match.group(0)}],
            }
        )
    return facets


def _fit_blob(data: bytes, mime: str) -> tuple[bytes, str, dict | None]:
    """The image as Bluesky takes it (at most 1,000,000 bytes) and its aspect ratio."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            ratio = {"width": img.width, "height": img.height}
            if len(data) <= MAX_BLOB:
                return data, mime, ratio
            picture = img.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        raise ChannelError("image cannot be read", permanent=True) from None
    for side, quality in ((2000, 85), (1600, 80), (1200, 75), (1000, 70), (800, 65)):
        copy = picture.copy()
        copy.thumbnail((side, side))
        out = io.BytesIO()
        copy.save(out, "JPEG", quality=quality)
        if out.tell() <= MAX_BLOB:
            return out.getvalue(), "image/jpeg", {"width": copy.width, "height": copy.height}
    raise ChannelError("image too large for Bluesky even when scaled down", permanent=True)


class BlueskyAdapter(Adapter):
    kind = "bluesky"
    rendition = "bluesky"
    idempotent = True
    can_edit = False
    can_delete = True
    can_find = True
    rate_per_minute = 25
    sandbox_base = sandbox.base("bluesky")
    fields = (
        Field(
            "service",
            _("PDS address"),
            required=False,
            default=DEFAULT_SERVICE,
            help=_("The account's server; https://bsky.social for accounts made on bsky.app."),
        ),
        Field("handle", _("Handle"), help=_("For example politie-gent.bsky.social")),
        Field(
            "app_password",
            _("App password"),
            secret=True,
            help=_("Settings > Privacy and security > App passwords. Never the account password."),
        ),
    )

    # Sessions -----------------------------------------------------------------------------

    def _base(self) -> str:
        return self.api_base(self.setting("service", DEFAULT_SERVICE) or DEFAULT_SERVICE)

    def _web(self) -> str:
        return self.sandbox_base if self.channel.sandbox else WEB

    def _cache_key(self) -> tuple:
        secret = hashlib.sha256(self.setting("app_password").encode()).hexdigest()
        return (self.channel.pk, self._base(), self._handle(), secret)

    def _handle(self) -> str:
        return self.setting("handle").strip().lstrip("@")

    def _raw(self, method: str, nsid: str, *, token: str | None, what: str, **kwargs: Any):
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.call(
            method, f"{self._base()}/xrpc/{nsid}", what=what, headers=headers, **kwargs
        )

    def _error(self, response, what: str) -> ChannelError:
        err = ChannelError.from_http(response, what)
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("error"):
            # XRPC errors: {"error": "<Name>", "message": "<what went wrong>"}: keep both.
            detail = ": ".join(str(body[k])[:200] for k in ("error", "message") if body.get(k))
            err.args = (f"{what}: HTTP {response.status_code}: {detail}",)
        if response.status_code == 429 and err.retry_after is None:
            # The PDS says when the window resets (RateLimit-Reset: unix seconds).
            try:
                reset = float(response.headers.get("ratelimit-reset", ""))
                err.retry_after = max(0.0, reset - timezone.now().timestamp())
            except ValueError:
                pass
        return err

    def _create_session(self) -> dict:
        response = self._raw(
            "POST",
            "com.atproto.server.createSession",
            token=None,
            what="sign in",
            json={"identifier": self._handle(), "password": self.setting("app_password")},
        )
        if response.status_code != 200:
            raise self._error(response, "sign in")
        session = self._body(response, "sign in")
        if not session.get("accessJwt") or not session.get("did"):
            raise ChannelError("sign in: no session in the answer")
        with _lock:
            _sessions[self._cache_key()] = session
        return session

    def _session(self) -> dict:
        with _lock:
            session = _sessions.get(self._cache_key())
        return session or self._create_session()

    def _refresh(self, session: dict) -> dict:
        response = self._raw(
            "POST",
            "com.atproto.server.refreshSession",
            token=session.get("refreshJwt"),
            what="refresh session",
        )
        if response.status_code != 200:
            return self._create_session()  # the refresh token expired too: sign in again
        fresh = session | self._body(response, "refresh session")
        with _lock:
            _sessions[self._cache_key()] = fresh
        return fresh

    @staticmethod
    def _body(response, what: str) -> dict:
        try:
            body = response.json()
        except ValueError:
            raise ChannelError(f"{what}: malformed response body", maybe_sent=True) from None
        if not isinstance(body, dict):
            raise ChannelError(f"{what}: malformed response body", maybe_sent=True)
        return body

    @staticmethod
    def _xrpc_error(response) -> str:
        try:
            body = response.json()
        except ValueError:
            return ""
        return str(body.get("error", "")) if isinstance(body, dict) else ""

    def _xrpc(self, method: str, nsid: str, *, what: str, ok=(200,), **kwargs: Any):
        """An authenticated call; renews the session once if the token expired."""
        session = self._session()
        response = self._raw(method, nsid, token=session["accessJwt"], what=what, **kwargs)
        if response.status_code in (400, 401) and self._xrpc_error(response) in (
            "ExpiredToken",
            "InvalidToken",
        ):
            if self._xrpc_error(response) == "ExpiredToken":
                session = self._refresh(session)
            else:
                session = self._create_session()
            response = self._raw(method, nsid, token=session["accessJwt"], what=what, **kwargs)
        if response.status_code not in ok:
            raise self._error(response, what)
        return response, session

    # Records ------------------------------------------------------------------------------

    def _url(self, session: dict, rkey: str) -> str:
        handle = session.get("handle") or self._handle()
        return f"{self._web()}/profile/{handle}/post/{rkey}"

    def _get_record(self, rkey: str) -> Outcome | None:
        session = self._session()
        response, session = self._xrpc(
            "GET",
            "com.atproto.repo.getRecord",
            what="read back",
            ok=(200, 400),
            params={"repo": session["did"], "collection": COLLECTION, "rkey": rkey},
        )
        if response.status_code == 400:
            body = self._body(response, "read back")
            if body.get("error") == "RecordNotFound" or "Could not locate record" in str(
                body.get("message", "")
            ):
                return None
            raise self._error(response, "read back")
        body = self._body(response, "read back")
        uri = str(body.get("uri") or f"at://{session['did']}/{COLLECTION}/{rkey}")
        return Outcome(uri, self._url(session, rkey))

    def _upload(self, image: dict) -> dict:
        data, _name, mime = load_image(image)
        data, mime, ratio = _fit_blob(data, mime)
        response, _session = self._xrpc(
            "POST",
            "com.atproto.repo.uploadBlob",
            what="upload image",
            content=data,
            headers={"Content-Type": mime},
            timeout=60.0,
        )
        blob = self._body(response, "upload image").get("blob")
        if not isinstance(blob, dict):
            raise ChannelError("upload image: no blob in the answer")
        entry = {"alt": str(image.get("alt") or "")[:MAX_ALT], "image": blob}
        if ratio:
            entry["aspectRatio"] = ratio
        return entry

    def _record(self, delivery) -> dict:
        p = delivery.payload
        text = p.get("text", "")
        record: dict[str, Any] = {
            "$type": COLLECTION,
            "text": text,
            "createdAt": timezone.now()
            .astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "langs": [delivery.language],
        }
        facets = link_facets(text)
        if facets:
            record["facets"] = facets
        images = list(p.get("images") or [])[:MAX_IMAGES]
        if images:
            record["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [self._upload(image) for image in images],
            }
        elif p.get("link"):
            record["embed"] = {
                "$type": "app.bsky.embed.external",
                "external": {
                    "uri": p["link"],
                    "title": str(p.get("title") or "")[:300],
                    "description": str(p.get("summary") or "")[:300],
                },
            }
        return record

    # The contract -------------------------------------------------------------------------

    @classmethod
    def validate_config(cls, config, secrets):
        errors = super().validate_config(config, secrets)
        handle = str(config.get("handle", "")).strip().lstrip("@")
        if handle and not (HANDLE_RE.match(handle) or handle.startswith("did:")):
            errors["handle"] = str(_("Enter a handle such as politie-gent.bsky.social."))
        service = str(config.get("service", "") or "")
        if service and not service.startswith(("https://", "http://")):
            errors["service"] = str(_("Enter an http or https URL."))
        password = str(secrets.get("app_password", "")).strip()
        if password and not APP_PASSWORD_RE.match(password):
            errors["app_password"] = str(
                _(
                    "Use an app password (four groups of four letters or digits), not the account password."
                )
            )
        return errors

    def check(self) -> str:
        with _lock:
            _sessions.pop(self._cache_key(), None)
        self._create_session()
        response, _session = self._xrpc("GET", "com.atproto.server.getSession", what="session")
        me = self._body(response, "session")
        return f"@{me.get('handle', '?')} ({me.get('did', '?')})"

    def post(self, delivery) -> Outcome:
        rkey = record_key(delivery)
        if delivery.attempts > 1:
            found = self._get_record(rkey)  # a retry: it may be there already
            if found is not None:
                return found
        record = self._record(delivery)
        session = self._session()
        body = {"repo": session["did"], "collection": COLLECTION, "rkey": rkey, "record": record}
        response, session = self._xrpc(
            "POST",
            "com.atproto.repo.createRecord",
            what="create post",
            ok=(200, 400, 409, 500),
            json=body,
        )
        if response.status_code == 200:
            answer = self._body(response, "create post")
            uri = str(answer.get("uri") or f"at://{session['did']}/{COLLECTION}/{rkey}")
            return Outcome(uri, self._url(session, rkey))
        # Refused: perhaps because a record with this key already exists (an earlier attempt
        # that went through). The key is this delivery's own: if it is there, it is ours.
        err = self._error(response, "create post")
        try:
            found = self._get_record(rkey)
        except ChannelError:
            raise err from None
        if found is not None:
            return found
        raise err

    def delete(self, delivery, target) -> None:
        rkey = target.external_id.rsplit("/", 1)[-1] if target.external_id else ""
        if not rkey:
            return
        session = self._session()
        self._xrpc(
            "POST",
            "com.atproto.repo.deleteRecord",
            what="delete post",
            json={"repo": session["did"], "collection": COLLECTION, "rkey": rkey},
        )

    def find(self, delivery) -> Outcome | None:
        return self._get_record(record_key(delivery))

    # Replies and mentions (the inbox) ------------------------------------------------------

    can_pull = True
    REASONS = ("reply", "mention", "quote")
    NOTIFICATION_PAGES = 5

    def fetch_mentions(self, cursor: str) -> tuple[list[Mention], str]:
        params: dict[str, Any] = {"limit": 50, "reasons": list(self.REASONS)}
        found: list[Mention] = []
        newest = cursor
        for _page in range(self.NOTIFICATION_PAGES):
            response, _session = self._xrpc(
                "GET",
                "app.bsky.notification.listNotifications",
                what="notifications",
                params=params,
            )
            body = self._body(response, "notifications")
            items = body.get("notifications")
            if not isinstance(items, list):
                raise ChannelError("notifications: malformed response body")
            reached = False
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("indexedAt"), str):
                    raise ChannelError("notifications: malformed response body")
                indexed = item["indexedAt"]
                if cursor and indexed < cursor:
                    reached = True
                    continue
                newest = max(newest, indexed)
                mention = self._mention(item)
                if mention is not None:
                    found.append(mention)
            next_cursor = body.get("cursor")
            if reached or not cursor or not isinstance(next_cursor, str) or not next_cursor:
                break  # (a first pull takes the latest page only)
            params["cursor"] = next_cursor
        found.sort(key=lambda m: str(m.created_at or ""))
        return found, newest

    def _mention(self, item: dict) -> Mention | None:
        if item.get("reason") not in self.REASONS:
            return None
        record = item.get("record")
        author = item.get("author")
        uri, cid = item.get("uri"), item.get("cid")
        if not (isinstance(record, dict) and isinstance(author, dict)):
            return None
        if not (isinstance(uri, str) and uri.startswith("at://") and isinstance(cid, str)):
            return None
        handle = str(author.get("handle") or author.get("did") or "")
        here = {"uri": uri, "cid": cid}
        reply = as_dict(record.get("reply"))
        root: dict = reply["root"] if _strong_ref(reply.get("root")) else here
        parent = as_dict(reply.get("parent"))
        parent_uri = parent["uri"] if _strong_ref(parent) else ""
        langs = record.get("langs")
        rkey = uri.rsplit("/", 1)[-1]
        return Mention(
            external_id=uri,
            thread_id=root["uri"],
            author=f"@{handle}",
            text=plain_text(str(record.get("text") or "")),
            url=f"{WEB}/profile/{handle}/post/{rkey}" if handle else "",
            created_at=_parse_time(record.get("createdAt")) or _parse_time(item.get("indexedAt")),
            language=str(langs[0])[:10] if isinstance(langs, list) and langs else "",
            in_reply_to=parent_uri,
            reply={"root": {"uri": root["uri"], "cid": root["cid"]}, "parent": here},
        )

    def send_reply(self, in_reply_to: str, text: str, *, thread: dict) -> str:
        root, parent = as_dict(thread.get("root")), as_dict(thread.get("parent"))
        if not (_strong_ref(root) and _strong_ref(parent)):
            raise ChannelError("reply: the post to answer is not known", permanent=True)
        record: dict[str, Any] = {
            "$type": COLLECTION,
            "text": text,
            "createdAt": timezone.now()
            .astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "reply": {
                "root": {"uri": root["uri"], "cid": root["cid"]},
                "parent": {"uri": parent["uri"], "cid": parent["cid"]},
            },
        }
        facets = link_facets(text)
        if facets:
            record["facets"] = facets
        session = self._session()
        response, session = self._xrpc(
            "POST",
            "com.atproto.repo.createRecord",
            what="reply",
            json={"repo": session["did"], "collection": COLLECTION, "record": record},
        )
        uri = self._body(response, "reply").get("uri")
        if not isinstance(uri, str) or not uri:
            raise ChannelError("reply: no uri in the answer", maybe_sent=True)
        return uri

    def preview(self, delivery) -> dict:
        p = delivery.payload
        return {
            "text": p.get("text", ""),
            "title": p.get("title"),
            "images": [{"url": i.get("url"), "alt": i.get("alt")} for i in p.get("images", [])],
        }


def _strong_ref(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("uri"), str)
        and value["uri"].startswith("at://")
        and isinstance(value.get("cid"), str)
        and bool(value["cid"])
    )


def _parse_time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


__all__ = ["BlueskyAdapter", "link_facets", "record_key", "tid"]
