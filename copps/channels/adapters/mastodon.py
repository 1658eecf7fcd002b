"""Mastodon: one public status per delivery on the account of an access token.

API (Mastodon 4.x REST, https://docs.joinmastodon.org/methods/):

- ``GET /api/v1/accounts/verify_credentials`` — who the token belongs to (check, read-back);
- ``POST /api/v2/media`` (multipart ``file`` + ``description`` = alt text) — 200 when the file is
  ready, 202 while it is processed; ``GET /api/v1/media/:id`` then answers 206 until it is ready;
- ``POST /api/v1/statuses`` with ``Idempotency-Key: <delivery key>``: Mastodon remembers the key
  for an hour and answers a repeated request with the status it already created, so an
  unanswered call is retried with the same key (``idempotent``); a retry first reads back the
  account's recent statuses too, which covers retries after that hour;
- ``PUT /api/v1/statuses/:id`` edits, ``DELETE /api/v1/statuses/:id`` deletes (404: already gone);
- ``GET /api/v1/accounts/:id/statuses`` reads back recent statuses (``find``);
- ``GET /api/v1/notifications?types[]=mention&min_id=<cursor>`` reads the replies and mentions
  newer than the cursor (``min_id``: the page right after it, so nothing is skipped when more
  than a page came in; the cursor is the newest notification id seen) and
  ``POST /api/v1/statuses`` with ``in_reply_to_id`` answers one (``send_reply``): the author is
  @mentioned, a direct mention is answered directly, anything else unlisted (scope
  ``read:notifications``).

Errors come as ``{"error": "..."}``: 401 (token revoked) disables the channel, 422 (validation)
is permanent, 429 carries ``X-RateLimit-Reset`` (an ISO time) which is honoured.
Limits: 300 API calls per 5 minutes per account, 30 media uploads per 30 minutes, 500 characters
(the rendition fits), 4 images, 1,500 characters of alt text.
"""

from __future__ import annotations

import html
import mimetypes
import re
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import sandbox
from ..base import Adapter, ChannelError, Field, Mention, Outcome, as_dict, plain_text

MAX_IMAGES = 4
SCOPES = ("read:accounts", "read:statuses", "write:statuses", "write:media")
MAX_ALT = 1500


def load_image(image: dict) -> tuple[bytes, str, str]:
    """(bytes, file name, MIME type) of a payload image, read from the site's media storage."""
    name = str(image.get("name") or "")
    try:
        with default_storage.open(name, "rb") as fh:
            data = fh.read()
    except (OSError, ValueError, SuspiciousFileOperation):
        raise ChannelError(f"image {name!r} is no longer available", permanent=True) from None
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return data, name.rsplit("/", 1)[-1] or "image", mime


def html_to_text(content: str) -> str:
    """The plain text of a status's HTML ``content`` (paragraphs, line breaks, link text)."""
    text = re.sub(r"<br\s*/?>", "\n", content or "", flags=re.I)
    text = re.sub(r"</p>\s*<p[^>]*>", "\n\n", text, flags=re.I)
    text = re.sub(r"<[^>]*>", "", text)
    return html.unescape(text)


def same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _reset_after(value: str) -> float | None:
    """Seconds until an ``X-RateLimit-Reset`` ISO time (Mastodon's 429 answers carry it)."""
    try:
        reset = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if reset.tzinfo is None:
        return None
    return max(0.0, (reset - timezone.now()).total_seconds())


def _reply_key(in_reply_to: str, text: str, thread: dict) -> str:
    """The reply's Idempotency-Key: the caller's (one per inbox entry), else from its content."""
    import hashlib

    given = str(thread.get("key") or "")
    return given or hashlib.sha256(f"{in_reply_to}\n{text}".encode()).hexdigest()[:32]


def _newer(a: str, b: str) -> bool:
    """Whether Mastodon id ``a`` is newer than ``b`` (numeric strings; "" is the oldest)."""
    return (len(a), a) > (len(b), b)


def _when(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


class MastodonAdapter(Adapter):
    kind = "mastodon"
    rendition = "mastodon"
    idempotent = True
    can_edit = True
    can_delete = True
    can_find = True
    # 300 calls per 5 minutes per account; a post with images takes a few calls.
    rate_per_minute = 60
    sandbox_base = sandbox.base("mastodon")
    # Seconds between polls of a media file that is still being processed, and how many.
    media_poll_interval = 1.0
    media_polls = 10
    fields = (
        Field(
            "instance_url",
            _("Instance URL"),
            help=_(
                "The address of the Mastodon server of the account, e.g. https://mastodon.social"
            ),
        ),
        Field(
            "access_token",
            _("Access token"),
            secret=True,
            help=_(
                "Preferences > Development > New application, with the scopes write:statuses "
                "write:media read:accounts read:statuses."
            ),
        ),
    )

    # Plumbing -----------------------------------------------------------------------------

    def _base(self) -> str:
        return self.api_base(self.setting("instance_url").rstrip("/"))

    def _request(self, method: str, path: str, *, what: str, ok=(200,), **kwargs: Any):
        headers = {"Authorization": f"Bearer {self.setting('access_token')}"}
        headers.update(kwargs.pop("headers", {}))
        response = self.call(method, self._base() + path, what=what, headers=headers, **kwargs)
        if response.status_code not in ok:
            err = ChannelError.from_http(response, what)
            if response.status_code == 429 and err.retry_after is None:
                err.retry_after = _reset_after(response.headers.get("x-ratelimit-reset", ""))
            raise err
        return response

    def _json(self, method: str, path: str, *, what: str, ok=(200,), **kwargs: Any) -> Any:
        response = self._request(method, path, what=what, ok=ok, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ChannelError(f"{what}: malformed response body", maybe_sent=True) from None

    # The contract -------------------------------------------------------------------------

    @classmethod
    def validate_config(cls, config, secrets):
        errors = super().validate_config(config, secrets)
        url = str(config.get("instance_url", "")).strip()
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.hostname or parts.path.strip("/"):
                errors["instance_url"] = str(
                    _("Enter the server's address only, e.g. https://mastodon.social")
                )
        return errors

    def check(self) -> str:
        me = self._json("GET", "/api/v1/accounts/verify_credentials", what="verify credentials")
        # Mastodon 4.3+ tells the token's scopes; older servers answer without them.
        app = self._request(
            "GET", "/api/v1/apps/verify_credentials", what="verify application", ok=(200, 404)
        )
        try:
            granted = set(app.json().get("scopes") or []) if app.status_code == 200 else set()
        except (ValueError, AttributeError, TypeError):
            granted = set()
        if granted:
            missing = [s for s in SCOPES if s not in granted and s.split(":", 1)[0] not in granted]
            if missing:
                raise ChannelError(
                    f"the access token lacks the scopes {', '.join(missing)}", permanent=True
                )
        host = urlsplit(self._base()).hostname or ""
        return f"@{me.get('acct', '?')} on {host}"

    def _upload(self, image: dict) -> str:
        data, name, mime = load_image(image)
        media = self._json(
            "POST",
            "/api/v2/media",
            what="upload image",
            ok=(200, 202),
            files={"file": (name, data, mime)},
            data={"description": str(image.get("alt") or "")[:MAX_ALT]},
            timeout=60.0,
        )
        media_id = str(media.get("id") or "")
        if not media_id:
            raise ChannelError("upload image: no media id in the answer")
        if media.get("url"):
            return media_id
        # 202: the server is still processing the file; a status cannot attach it before.
        for _attempt in range(self.media_polls):
            time.sleep(self.media_poll_interval)
            response = self._request(
                "GET", f"/api/v1/media/{media_id}", what="media status", ok=(200, 206)
            )
            if response.status_code == 200:
                return media_id
        raise ChannelError("upload image: still processing; trying again later")

    def _status_fields(self, delivery, media_ids: list[str]) -> dict:
        fields: dict[str, Any] = {
            "status": delivery.payload.get("text", ""),
            "language": delivery.language,
            "visibility": "public",
        }
        if media_ids:
            fields["media_ids[]"] = media_ids
        return fields

    def post(self, delivery) -> Outcome:
        if delivery.attempts > 1:
            # A retry: Mastodon keeps an Idempotency-Key for an hour only, so look first.
            found = self.find(delivery)
            if found is not None:
                return found
        images = list(delivery.payload.get("images") or [])[:MAX_IMAGES]
        media_ids = [self._upload(image) for image in images]
        status = self._json(
            "POST",
            "/api/v1/statuses",
            what="post status",
            data=self._status_fields(delivery, media_ids),
            headers={"Idempotency-Key": delivery.key},
        )
        return self._outcome(status)

    def _outcome(self, status: dict) -> Outcome:
        status_id = str(status.get("id") or "")
        if not status_id:
            raise ChannelError("post status: no status id in the answer", maybe_sent=True)
        return Outcome(status_id, str(status.get("url") or status.get("uri") or ""))

    def update(self, delivery, target) -> Outcome:
        path = f"/api/v1/statuses/{target.external_id}"
        current = self._request("GET", path, what="read status", ok=(200, 404))
        if current.status_code == 404:
            raise ChannelError("edit status: the post no longer exists", permanent=True)
        try:
            media_ids = [str(m["id"]) for m in current.json().get("media_attachments") or []]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ChannelError("read status: malformed response body") from None
        # Without media_ids an edit would drop the images: keep the ones the post has.
        status = self._json(
            "PUT", path, what="edit status", data=self._status_fields(delivery, media_ids)
        )
        outcome = self._outcome(status)
        return Outcome(outcome.external_id, outcome.url or target.url)

    def delete(self, delivery, target) -> None:
        if not target.external_id:
            return
        self._request(
            "DELETE", f"/api/v1/statuses/{target.external_id}", what="delete", ok=(200, 404)
        )

    def find(self, delivery) -> Outcome | None:
        me = self._json("GET", "/api/v1/accounts/verify_credentials", what="verify credentials")
        statuses = self._json(
            "GET",
            f"/api/v1/accounts/{me.get('id')}/statuses",
            what="read back",
            params={"limit": 40, "exclude_replies": "true", "exclude_reblogs": "true"},
        )
        if not isinstance(statuses, list):
            raise ChannelError("read back: malformed response body")
        since = delivery.created_at - timedelta(minutes=5)
        text = delivery.payload.get("text", "")
        for status in statuses:
            if not isinstance(status, dict):
                continue
            try:
                created = datetime.fromisoformat(
                    str(status.get("created_at")).replace("Z", "+00:00")
                )
            except ValueError:
                continue
            if created >= since and same_text(html_to_text(status.get("content", "")), text):
                return self._outcome(status)
        return None

    # Replies and mentions (the inbox) ------------------------------------------------------

    can_pull = True
    MENTIONS_PAGE = 40

    def fetch_mentions(self, cursor: str) -> tuple[list[Mention], str]:
        params: dict[str, Any] = {"types[]": "mention", "limit": self.MENTIONS_PAGE}
        if cursor:
            params["min_id"] = cursor  # the page right after the cursor, oldest first
        notifications = self._json(
            "GET", "/api/v1/notifications", what="notifications", params=params
        )
        if not isinstance(notifications, list):
            raise ChannelError("notifications: malformed response body")
        mentions: list[Mention] = []
        # An account with no notifications yet: from now on, everything from the first one.
        newest = cursor or "0"
        for item in notifications:
            if not isinstance(item, dict) or not str(item.get("id") or "").isdigit():
                raise ChannelError("notifications: malformed response body")
            if _newer(str(item["id"]), newest):
                newest = str(item["id"])
            mention = self._mention(item)
            if mention is not None:
                mentions.append(mention)
        mentions.sort(key=lambda m: (len(m.external_id), m.external_id))
        return mentions, newest

    def _mention(self, item: dict) -> Mention | None:
        status = item.get("status")
        account = item.get("account")
        if item.get("type") != "mention" or not isinstance(status, dict):
            return None
        if not isinstance(account, dict):
            account = as_dict(status.get("account"))
        status_id = str(status.get("id") or "")
        acct = str(account.get("acct") or "")
        if not status_id or not acct:
            return None
        in_reply_to = str(status.get("in_reply_to_id") or "")
        visibility = str(status.get("visibility") or "public")
        url = status.get("url") or status.get("uri") or ""
        return Mention(
            external_id=status_id,
            thread_id=in_reply_to or status_id,
            author=f"@{acct}",
            text=plain_text(html_to_text(str(status.get("content") or ""))),
            url=url if isinstance(url, str) and url.startswith(("https://", "http://")) else "",
            created_at=_when(status.get("created_at")),
            language=str(status.get("language") or "")[:10],
            in_reply_to=in_reply_to,
            reply={"acct": acct, "visibility": visibility},
        )

    def send_reply(self, in_reply_to: str, text: str, *, thread: dict) -> str:
        acct = str(thread.get("acct") or "").lstrip("@")
        if acct and f"@{acct}".lower() not in text.lower():
            text = f"@{acct} {text}"
        # Never wider than the citizen's post: a public or unlisted question gets an unlisted
        # answer on the thread; a followers-only or direct one a direct answer (unlisted would
        # show everyone that this person wrote to the police).
        public = thread.get("visibility") in ("public", "unlisted", None, "")
        visibility = "unlisted" if public else "direct"
        fields: dict[str, Any] = {"status": text, "visibility": visibility}
        if in_reply_to:
            fields["in_reply_to_id"] = in_reply_to
        status = self._json(
            "POST",
            "/api/v1/statuses",
            what="post reply",
            data=fields,
            headers={"Idempotency-Key": _reply_key(in_reply_to, text, thread)},
        )
        if not isinstance(status, dict) or not status.get("id"):
            raise ChannelError("post reply: no status id in the answer", maybe_sent=True)
        return str(status["id"])

    def preview(self, delivery) -> dict:
        p = delivery.payload
        return {
            "text": p.get("text", ""),
            "title": p.get("title"),
            "images": [{"url": i.get("url"), "alt": i.get("alt")} for i in p.get("images", [])],
        }


__all__ = ["MastodonAdapter", "html_to_text", "load_image", "same_text"]
