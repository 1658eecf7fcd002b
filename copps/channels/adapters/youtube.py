"""YouTube channel (Data API v3): uploads the video attached to a message (recruitment,
wanted-person appeals), with the message's title and its rendition text as description.

Credentials: an OAuth client (``client_id``, ``client_secret``) and a ``refresh_token`` of the
channel's owner with the ``youtube.upload`` and ``youtube`` scopes (``youtube.force-ssl`` also
works). The access token is fetched from ``https://oauth2.googleapis.com/token`` and kept in this
process's memory until shortly before it expires; it is never stored.

Publishing is a resumable upload:

1. ``POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`` with the metadata
   -> ``200`` and a session URL in ``Location``. A session is not a video: any error here
   (even an unanswered call) has published nothing, so it is simply retried;
2. ``PUT <session>`` with the bytes -> ``200``/``201`` and the video resource ``{"id", ...}``.
   If that answer is lost (timeout, 5xx) we do **not** upload again (Postiz's double-post, its
   PR #1813): we ask the *same* session how far it got (``PUT`` with ``Content-Range: bytes */N``).
   Complete -> the answer carries the video, done. Incomplete (308) -> no video exists, retried
   later. No answer to that either -> the delivery is *unknown* and ``find()`` reads the channel's
   uploads back before anything is sent again.

``find()`` reads the channel's uploads playlist (``channels?part=contentDetails`` then
``playlistItems``) rather than ``search``: the playlist lists a new upload at once, while the
search index can lag by minutes (a lagging "not there" would cause exactly the duplicate we
avoid), and it costs 1 quota unit instead of 100.

``update()``: ``PUT /youtube/v3/videos?part=snippet``; ``delete()``: ``DELETE /youtube/v3/videos``.

Errors (``{"error": {"code", "message", "errors": [{"reason", "domain"}]}}``): ``quotaExceeded``
waits for the daily reset (midnight Pacific time), ``rateLimitExceeded``/``uploadLimitExceeded``
back off; a refused refresh token (``invalid_grant``) or client disables the channel; 401 on an
API call refreshes the access token once; other 4xx are permanent.
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..base import Adapter, ChannelError, Field, Outcome
from .x import listing

GOOGLE_APIS = "https://www.googleapis.com"
OAUTH_ENDPOINT = "https://oauth2.googleapis.com/token"
TITLE_MAX = 100  # characters
DESCRIPTION_MAX = 5000  # bytes
NEWS_CATEGORY = "25"  # "News & Politics"
CHUNK = 1024 * 1024
UPLOAD_TIMEOUT = 120.0
FIND_WINDOW = 25
RETRY_REASONS = {
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "uploadLimitExceeded",
    "backendError",
}

_tokens: dict[str, tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def _clean(text: str) -> str:
    """YouTube refuses ``<`` and ``>`` in titles and descriptions."""
    return text.replace("<", "‹").replace(">", "›")


def title_of(payload: dict) -> str:
    title = " ".join(_clean(payload.get("title") or payload.get("text") or "").split())
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1].rstrip() + "…"


def description_of(payload: dict) -> str:
    raw = _clean(payload.get("text") or "").encode()
    if len(raw) <= DESCRIPTION_MAX:
        return raw.decode()
    return raw[: DESCRIPTION_MAX - 3].decode("utf-8", "ignore").rstrip() + "…"


def _until_pacific_midnight() -> float:
    now = datetime.now(ZoneInfo("America/Los_Angeles"))
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(60.0, (midnight - now).total_seconds())


class YouTubeAdapter(Adapter):
    kind = "youtube"
    rendition = "youtube"
    idempotent = False
    can_edit = True
    can_delete = True
    can_find = True
    # videos.insert has its own default quota of 100 calls a day per project.
    rate_per_minute = 100 / (24 * 60)
    sandbox_base = "https://youtube.sandbox.invalid"
    fields = (
        Field(
            "channel_id",
            gettext_lazy("Channel id"),
            required=False,
            help=gettext_lazy("UC…; when set, the token must belong to this channel."),
        ),
        Field(
            "privacy",
            gettext_lazy("Privacy"),
            required=False,
            default="public",
            help=gettext_lazy("public or unlisted."),
        ),
        Field("client_id", gettext_lazy("OAuth client id"), secret=True),
        Field("client_secret", gettext_lazy("OAuth client secret"), secret=True),
        Field(
            "refresh_token",
            gettext_lazy("Refresh token"),
            secret=True,
            help=gettext_lazy("Of the channel owner, with the youtube.upload and youtube scopes."),
        ),
    )

    # URLs and the access token -----------------------------------------------------------

    @property
    def _base(self) -> str:
        return self.api_base(GOOGLE_APIS)

    @property
    def _token_url(self) -> str:
        if self.channel.sandbox:
            return f"{self.sandbox_base}/token"
        return str(self.config.get("token_url") or OAUTH_ENDPOINT)

    def _cache_key(self) -> str:
        raw = f"{self._token_url}|{self.setting('client_id')}|{self.setting('refresh_token')}"
        return hashlib.sha256(raw.encode()).hexdigest()

    def access_token(self, *, fresh: bool = False) -> str:
        key = self._cache_key()
        with _tokens_lock:
            cached = _tokens.get(key)
            if cached and not fresh and cached[1] > time.time() + 60:
                return cached[0]
        try:
            response = self.call(
                "POST",
                self._token_url,
                what="access token",
                data={
                    "client_id": self.setting("client_id"),
                    "client_secret": self.setting("client_secret"),
                    "refresh_token": self.setting("refresh_token"),
                    "grant_type": "refresh_token",
                },
            )
        except ChannelError as err:
            err.maybe_sent = False  # asking for a token changes nothing on the channel
            raise
        if response.status_code in (400, 401):
            # invalid_grant (revoked/expired refresh token), invalid_client, unauthorized_client
            raise ChannelError(
                ChannelError.from_http(response, "access token").args[0],
                permanent=True,
                disable_channel=True,
            )
        if response.status_code != 200:
            raise ChannelError.from_http(response, "access token")
        try:
            body = response.json()
            token, expires = str(body["access_token"]), float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise ChannelError("access token: malformed response body") from None
        with _tokens_lock:
            _tokens[key] = (token, time.time() + expires)
        return token

    def forget_token(self) -> None:
        with _tokens_lock:
            _tokens.pop(self._cache_key(), None)

    # Errors --------------------------------------------------------------------------------

    @staticmethod
    def error(response, what: str, *, maybe_sent: bool | None = None) -> ChannelError:
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError):
            error = None
        reasons = set()
        if isinstance(error, dict):
            for item in error.get("errors") or []:
                if isinstance(item, dict) and item.get("reason"):
                    reasons.add(str(item["reason"]))
        err = ChannelError.from_http(response, what)
        if reasons:
            err.args = (f"{err.args[0]} ({', '.join(sorted(reasons))})",)
        if "quotaExceeded" in reasons:
            err = ChannelError(err.args[0], retry_after=_until_pacific_midnight())
        elif reasons & RETRY_REASONS:
            err = ChannelError(err.args[0], retry_after=err.retry_after)
        if maybe_sent is not None:
            err.maybe_sent = maybe_sent
        return err

    def _api(self, method: str, path: str, *, what: str, ok=(200,), **kwargs):
        """A Data API call with a bearer token; a 401 refreshes the token once."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.access_token(fresh=attempt == 2)}"}
            response = self.call(
                method, f"{self._base}/youtube/v3{path}", what=what, headers=headers, **kwargs
            )
            if response.status_code != 401 or attempt == 2:
                break
            self.forget_token()
        if response.status_code not in ok:
            raise self.error(response, what)
        return response

    @staticmethod
    def _json(response, what: str, *, maybe_sent: bool = False) -> dict:
        try:
            body = response.json()
        except ValueError:
            raise ChannelError(f"{what}: malformed response body", maybe_sent=maybe_sent) from None
        if not isinstance(body, dict):
            raise ChannelError(f"{what}: malformed response body", maybe_sent=maybe_sent)
        return body

    @staticmethod
    def watch_url(video_id: str) -> str:
        return f"https://www.youtube.com/watch?v={video_id}"

    # The contract --------------------------------------------------------------------------

    def check(self) -> str:
        body = self._json(
            self._api(
                "GET", "/channels", what="channel", params={"part": "snippet", "mine": "true"}
            ),
            "channel",
        )
        items = body.get("items") or []
        if not items or not isinstance(items[0], dict):
            raise ChannelError("channel: this account has no YouTube channel", permanent=True)
        channel = items[0]
        wanted = self.config.get("channel_id")
        if wanted and channel.get("id") != wanted:
            raise ChannelError(
                f"channel: the token belongs to channel {channel.get('id')}, not {wanted}",
                permanent=True,
            )
        return str((channel.get("snippet") or {}).get("title") or channel.get("id"))

    def _snippet(self, payload: dict) -> dict:
        snippet = {
            "title": title_of(payload),
            "description": description_of(payload),
            "categoryId": str(self.config.get("category_id") or NEWS_CATEGORY),
        }
        if payload.get("language"):
            snippet["defaultLanguage"] = payload["language"]
            snippet["defaultAudioLanguage"] = payload["language"]
        return snippet

    def post(self, delivery) -> Outcome:
        payload = delivery.payload
        video = payload.get("video") or {}
        name = video.get("name") if isinstance(video, dict) else None
        if not name:
            raise ChannelError(_("no video attached: YouTube needs a video file"), permanent=True)
        try:
            size = default_storage.size(name)
            stream = default_storage.open(name, "rb")
        except OSError:
            raise ChannelError(_("the attached video file is missing"), permanent=True) from None
        with stream:
            session = self._start_upload(payload, video, size)
            return self._upload(session, stream, size, video.get("content_type") or "video/*")

    def _start_upload(self, payload: dict, video: dict, size: int) -> str:
        privacy = self.config.get("privacy") or "public"
        metadata = {
            "snippet": self._snippet(payload),
            "status": {"privacyStatus": privacy, "selfDeclaredMadeForKids": False},
        }
        try:
            response = self._start_call(metadata, video, size)
        except ChannelError as err:
            err.maybe_sent = False  # an upload session is not a video: nothing went out
            raise
        location = response.headers.get("location", "")
        expected = urlsplit(self._base)
        actual = urlsplit(location)
        if (actual.scheme, actual.netloc) != (expected.scheme, expected.netloc):
            raise ChannelError("start upload: no upload session in the answer")
        return location

    def _start_call(self, metadata: dict, video: dict, size: int):
        for attempt in (1, 2):
            headers = {
                "Authorization": f"Bearer {self.access_token(fresh=attempt == 2)}",
                "X-Upload-Content-Type": str(video.get("content_type") or "video/*"),
                "X-Upload-Content-Length": str(size),
            }
            response = self.call(
                "POST",
                f"{self._base}/upload/youtube/v3/videos",
                what="start upload",
                params={"uploadType": "resumable", "part": "snippet,status"},
                headers=headers,
                json=metadata,
            )
            if response.status_code != 401 or attempt == 2:
                break
            self.forget_token()
        if response.status_code != 200:
            raise self.error(response, "start upload", maybe_sent=False)
        return response

    def _upload(self, session: str, stream, size: int, content_type: str) -> Outcome:
        def chunks():
            while True:
                block = stream.read(CHUNK)
                if not block:
                    return
                yield block

        headers = {
            "Authorization": f"Bearer {self.access_token()}",
            "Content-Type": content_type,
            "Content-Length": str(size),
        }
        try:
            response = self.call(
                "PUT",
                session,
                what="upload",
                headers=headers,
                content=chunks(),
                timeout=UPLOAD_TIMEOUT,
            )
        except ChannelError as err:
            if not err.maybe_sent:
                raise  # never reached YouTube: no video
            return self._settle_session(session, size, err)
        if response.status_code in (200, 201):
            return self._video(response)
        if response.status_code >= 500:
            return self._settle_session(session, size, self.error(response, "upload"))
        raise self.error(response, "upload", maybe_sent=False)

    def _settle_session(self, session: str, size: int, cause: ChannelError) -> Outcome:
        """The upload's answer was lost: ask the same session whether it completed."""
        try:
            response = self.call(
                "PUT",
                session,
                what="upload status",
                headers={
                    "Authorization": f"Bearer {self.access_token()}",
                    "Content-Range": f"bytes */{size}",
                    "Content-Length": "0",
                },
            )
        except ChannelError as err:
            raise ChannelError(
                f"{cause}; asking the upload session failed too: {err}", maybe_sent=True
            ) from None
        if response.status_code in (200, 201):
            return self._video(response)
        if response.status_code == 308:
            # Incomplete: YouTube creates a video only from a complete upload.
            raise ChannelError(f"{cause}; the upload did not complete, nothing was published")
        if response.status_code == 404:  # the session expired: YouTube kept nothing of it
            raise ChannelError(f"{cause}; the upload session expired, nothing was published")
        raise ChannelError(f"{cause}; upload status HTTP {response.status_code}", maybe_sent=True)

    def _video(self, response) -> Outcome:
        body = self._json(response, "upload", maybe_sent=True)
        video_id = str(body.get("id") or "")
        if not video_id:
            raise ChannelError("upload: no video id in the answer", maybe_sent=True)
        return Outcome(video_id, self.watch_url(video_id))

    def update(self, delivery, target) -> Outcome:
        self._api(
            "PUT",
            "/videos",
            what="edit video",
            params={"part": "snippet"},
            json={"id": target.external_id, "snippet": self._snippet(delivery.payload)},
        )
        return Outcome(target.external_id, target.url)

    def delete(self, delivery, target) -> None:
        self._api(
            "DELETE",
            "/videos",
            what="delete video",
            ok=(200, 204, 404),  # 404 videoNotFound: already gone
            params={"id": target.external_id},
        )

    def find(self, delivery) -> Outcome | None:
        params = {"part": "contentDetails"}
        if self.config.get("channel_id"):
            params["id"] = self.config["channel_id"]
        else:
            params["mine"] = "true"
        body = self._json(
            self._api("GET", "/channels", what="read back", params=params), "read back"
        )
        try:
            uploads = body["items"][0]["contentDetails"]["relatedPlaylists"]["uploads"]
        except (KeyError, IndexError, TypeError):
            raise ChannelError("read back: the channel's uploads are not listed") from None
        answer = self._json(
            self._api(
                "GET",
                "/playlistItems",
                what="read back",
                params={"part": "snippet", "playlistId": uploads, "maxResults": FIND_WINDOW},
            ),
            "read back",
        )
        title, description = title_of(delivery.payload), description_of(delivery.payload)
        for item in listing(answer, "items"):
            snippet = item.get("snippet")
            if not isinstance(snippet, dict):
                raise ChannelError("read back: malformed response body")
            if snippet.get("title") == title and snippet.get("description") == description:
                video_id = str((snippet.get("resourceId") or {}).get("videoId") or "")
                if video_id:
                    return Outcome(video_id, self.watch_url(video_id))
        return None

    def preview(self, delivery) -> dict:
        video = delivery.payload.get("video") or {}
        return {
            "title": title_of(delivery.payload),
            "text": description_of(delivery.payload),
            "video": video.get("url", "") if isinstance(video, dict) else "",
        }

    @classmethod
    def validate_config(cls, config, secrets):
        errors = super().validate_config(config, secrets)
        if config.get("privacy") not in (None, "", "public", "unlisted"):
            errors["privacy"] = str(gettext_lazy("Choose public or unlisted."))
        channel_id = str(config.get("channel_id") or "")
        if channel_id and not (channel_id.startswith("UC") and len(channel_id) == 24):
            errors["channel_id"] = str(gettext_lazy("A channel id starts with UC (24 characters)."))
        return errors
