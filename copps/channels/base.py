"""The contract every channel adapter keeps (one adapter per kind, in ``adapters/<kind>.py``).

An adapter turns a Delivery's frozen payload into calls to one service, through the one
outbound HTTP entry point (``copps.lib.http``), and reports the outcome:

- return an ``Outcome`` (the post's id and URL) when the service confirmed it;
- raise ``ChannelError`` otherwise, saying whether the error is permanent, whether the
  request may have gone out (``maybe_sent``: the outcome is unknown) and, for 429, when to come
  back. ``ChannelError.from_http`` classifies an HTTP answer the same way for every adapter.

The delivery engine (``deliveries.py``) owns states, retries and the rate limit; adapters never
touch a Delivery's state.

How to add a channel
--------------------
1. ``adapters/<kind>.py``: a subclass of ``Adapter`` with ``kind``, ``rendition`` (a key of
   ``newsroom.renditions.CHANNELS``), ``fields`` (settings and secrets the console asks for),
   ``check()``, ``post()`` and, where the service allows, ``update()``, ``delete()``, ``find()``.
2. Declare what the service offers: ``idempotent`` (it deduplicates by our key, so an unknown
   outcome can be retried safely), ``can_edit``, ``can_delete``, ``rate_per_minute`` (its
   published limit).
3. Register it in ``registry.ADAPTERS`` and add the kind to ``models.Kind``.
4. A sandbox imitation in ``sandbox.py`` answering like the real API (the demo and the tests use it).
5. Tests: post, edit, delete, each error class, and ``check()`` with bad credentials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _

from copps.lib import http

if TYPE_CHECKING:
    import httpx

    from .models import Channel, Delivery, Recipient


@dataclass
class Outcome:
    external_id: str
    url: str = ""


class ChannelError(Exception):
    """A call to the service did not succeed.

    ``permanent``: retrying will not help (bad request, content refused, revoked credentials).
    ``maybe_sent``: the request may have reached the service; the outcome is unknown.
    ``retry_after``: seconds the service asked us to wait (429 Retry-After).
    ``disable_channel``: the credentials themselves are bad; stop using this channel.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        maybe_sent: bool = False,
        retry_after: float | None = None,
        disable_channel: bool = False,
    ):
        super().__init__(message)
        self.permanent = permanent
        self.maybe_sent = maybe_sent
        self.retry_after = retry_after
        self.disable_channel = disable_channel

    @classmethod
    def from_http(cls, response: httpx.Response, what: str = "") -> ChannelError:
        """Classify an unsuccessful HTTP answer: 401/403 disable, 429/5xx retry, 4xx permanent.

        Where a service answers 403 for a refused post or a spent quota (X, YouTube), its adapter
        classifies that 403 itself: disabling the channel is for credentials that stopped working.
        """
        status = response.status_code
        detail = _short_body(response)
        message = f"{what or 'request'}: HTTP {status}" + (f": {detail}" if detail else "")
        if status in (401, 403):
            return cls(message, permanent=True, disable_channel=True)
        if status == 429:
            return cls(message, retry_after=_retry_after(response))
        if status >= 500:
            # The service took the request and failed: it may or may not have posted.
            return cls(message, maybe_sent=True, retry_after=_retry_after(response))
        if status == 408:
            return cls(message)
        return cls(message, permanent=True)

    @classmethod
    def from_transport(cls, exc: http.HttpError, what: str = "") -> ChannelError:
        prefix = f"{what}: " if what else ""
        if isinstance(exc, http.NotSent):
            return cls(f"{prefix}{exc}")
        if isinstance(exc, http.NoAnswer):
            return cls(f"{prefix}{exc}", maybe_sent=True)
        return cls(f"{prefix}{exc}", permanent=True)


def _short_body(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(body, dict):
        for key in ("error_description", "error", "message", "detail", "description", "title"):
            value = body.get(key)
            if isinstance(value, str):
                return value[:200]
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return value["message"][:200]
    return str(body)[:200]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            from django.utils import timezone

            return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
        except (TypeError, ValueError):
            return None


def plain_text(text: str, limit: int = 10_000) -> str:
    """Text from outside made safe to store and show as plain text: no control characters
    (line breaks and tabs stay), at most ``limit`` characters."""
    cleaned = "".join(c for c in str(text or "") if c in "\n\t" or (c >= " " and c != "\x7f"))
    return cleaned.strip()[:limit]


def as_dict(value: Any) -> dict:
    """``value`` if it is a JSON object, else an empty one (answers from outside)."""
    return value if isinstance(value, dict) else {}


def parse_time(value: Any):
    """An aware datetime from an ISO 8601 string (a trailing Z allowed), else None."""
    from datetime import datetime

    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


@dataclass
class Mention:
    """A reply to or mention of the account, read from the service (``fetch_mentions``).

    ``thread_id``: the post it answers (or its own id when it starts a thread); ``text`` is
    plain text (any HTML already reduced to text); ``reply``: what ``send_reply`` needs to
    answer it (service-specific: a visibility, Bluesky's root/parent references).
    """

    external_id: str
    thread_id: str
    author: str
    text: str
    url: str = ""
    created_at: Any = None
    language: str = ""
    in_reply_to: str = ""
    in_reply_to_our_post: str = ""
    reply: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Field:
    """One setting the console asks for when configuring a channel of this kind."""

    name: str
    label: Any
    secret: bool = False
    required: bool = True
    help: Any = ""
    default: str = ""


class Adapter:
    kind: ClassVar[str] = ""
    rendition: ClassVar[str] = "web"
    fields: ClassVar[tuple[Field, ...]] = ()
    # The service deduplicates by our key: an unknown outcome may be retried with the same key.
    idempotent: ClassVar[bool] = False
    can_edit: ClassVar[bool] = False
    can_delete: ClassVar[bool] = False
    # find() can read back recent posts to settle an unknown outcome.
    can_find: ClassVar[bool] = False
    # Sends one copy per subscriber (Recipient rows) instead of one post.
    subscribers: ClassVar[bool] = False
    medium: ClassVar[str] = ""  # the Subscription.medium of a subscriber channel
    batch_size: ClassVar[int] = 100
    # The service's published limit; the engine spaces calls accordingly, allowing a burst of
    # ``rate_burst`` calls at once (GCRA), so a few urgent posts need not wait for each other.
    rate_per_minute: ClassVar[float] = 60.0
    rate_burst: ClassVar[int] = 5
    # Where the demo's imitation of the service answers (sandbox accounts).
    sandbox_base: ClassVar[str] = ""
    # One post carries every language version (the fediverse's contentMap): planned once per
    # message, whatever the channel's own language.
    multilingual: ClassVar[bool] = False
    # Failures count towards the channel's circuit breaker. False for a fan-out to many
    # independent servers (the fediverse), where one dead server must not pause the rest: the
    # adapter keeps a breaker per server instead.
    channel_breaker: ClassVar[bool] = True
    # Offered under "Add a channel". False for kinds whose channels another part of copps
    # creates (the fediverse accounts, made under Console -> Fediverse).
    created_in_console: ClassVar[bool] = True

    def __init__(self, channel: Channel):
        self.channel = channel
        self.config = dict(channel.config or {})
        self._secrets: dict | None = None

    @property
    def secrets(self) -> dict:
        if self._secrets is None:
            self._secrets = self.channel.get_secrets()
        return self._secrets

    def setting(self, name: str, default: str = "") -> str:
        value = self.config.get(name)
        if value in (None, ""):
            value = self.secrets.get(name, default)
        return str(value) if value is not None else default

    def rate(self) -> float:
        """Calls per minute for this account: ``config["rate_per_minute"]`` when an
        administrator set a positive number (a higher or lower API tier), else the default."""
        try:
            value = float(self.config.get("rate_per_minute") or 0)
        except (TypeError, ValueError):
            value = 0.0
        return value if value > 0 else float(self.rate_per_minute)

    def api_base(self, real: str) -> str:
        """The service's API root: the real one, or the sandbox for sandbox accounts."""
        if self.channel.sandbox and self.sandbox_base:
            return self.sandbox_base
        return (self.config.get("api_base") or real).rstrip("/")

    def call(self, method: str, url: str, *, what: str = "", **kwargs: Any) -> httpx.Response:
        """One HTTP call through the entry point; transport errors become ChannelError."""
        kwargs.setdefault("allow_private", self.allow_private)
        try:
            return http.request(method, url, **kwargs)
        except http.HttpError as exc:
            raise ChannelError.from_transport(exc, what) from None

    def json_call(self, method: str, url: str, *, what: str = "", ok=(200, 201, 202), **kwargs):
        """An HTTP call whose success answer must be a JSON document; returns it."""
        response = self.call(method, url, what=what, **kwargs)
        if response.status_code not in ok:
            raise ChannelError.from_http(response, what)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            # The service said yes but the body is garbage: it probably acted; we cannot tell.
            raise ChannelError(f"{what}: malformed response body", maybe_sent=True) from None

    # An administrator configured this endpoint (not outside input): private hosts allowed.
    allow_private: ClassVar[bool] = True

    # The contract -------------------------------------------------------------------------

    @classmethod
    def prepare_config(cls, config: dict, secrets: dict) -> tuple[dict, dict]:
        """Fill in what copps can generate itself (web push keys) before a new channel is
        validated; by default nothing."""
        return config, secrets

    @classmethod
    def validate_config(cls, config: dict, secrets: dict) -> dict[str, str]:
        """Field errors for a configuration (before any network call); {} when fine."""
        errors = {}
        for f in cls.fields:
            value = (secrets if f.secret else config).get(f.name, "")
            if f.required and not str(value).strip():
                errors[f.name] = str(_("This field is required."))
        return errors

    def check(self) -> str:
        """Test the connection and credentials; returns a short description of the account."""
        raise NotImplementedError

    def post(self, delivery: Delivery) -> Outcome:
        raise NotImplementedError

    def update(self, delivery: Delivery, target: Delivery) -> Outcome:
        raise NotImplementedError

    def delete(self, delivery: Delivery, target: Delivery) -> None:
        raise NotImplementedError

    def find(self, delivery: Delivery) -> Outcome | None:
        """Read back recent posts: the post if it is there, None if it certainly is not."""
        raise NotImplementedError

    def send_batch(self, delivery: Delivery, recipients: list[Recipient]) -> dict[int, Any]:
        """Subscriber channels: send one copy to each recipient.

        Returns recipient id -> external id (str) for each copy sent, or a ChannelError for a
        copy that failed. Raising ChannelError fails the whole batch (e.g. the server is down).
        """
        raise NotImplementedError

    # fetch_mentions()/send_reply() are implemented: the inbox pulls replies and mentions.
    can_pull: ClassVar[bool] = False

    def fetch_mentions(self, cursor: str) -> tuple[list[Mention], str]:
        """Replies to and mentions of the account newer than ``cursor`` (oldest first) and the
        new cursor ("" at first: the service's latest page). Raises ChannelError."""
        raise NotImplementedError

    def send_reply(self, in_reply_to: str, text: str, *, thread: dict) -> str:
        """Answer the post ``in_reply_to`` with ``text`` (``thread``: the conversation's route,
        carrying ``Mention.reply``); returns the id of our reply. Raises ChannelError."""
        raise NotImplementedError

    def send_text(self, to: str, text: str, *, reference: str) -> str:
        """SMS channels: one transactional text (a confirmation code, a reply), outside any
        delivery. ``reference`` is our client reference; returns the gateway's message id."""
        raise NotImplementedError

    # Distribution hooks (called by ``newsroom.distribution``; the defaults suit most kinds) ---

    def accepts(self, message: Any) -> bool:
        """Whether this account publishes ``message`` at all (an area's account: only messages
        about its area). Formats, languages and audiences are checked by the caller."""
        return True

    def payload_extra(self, message: Any, language: str) -> dict:
        """What this kind adds to a delivery's frozen payload (the fediverse: its JSON object)."""
        return {}

    def fanout(self, delivery: Delivery) -> list[Recipient]:
        """Subscriber channels: the (unsaved) copies a delivery fans out to. By default the
        active subscriptions of ``medium`` matching the delivery's language, kind and area."""
        from .deliveries import matching_subscriptions
        from .models import Recipient

        payload = delivery.payload
        return [
            Recipient(delivery_id=delivery.pk, subscription_id=pk)
            for pk in matching_subscriptions(
                self.medium,
                delivery.language,
                payload.get("kind", ""),
                payload.get("postcodes", []),
            )
        ]

    def max_attempts(self) -> int:
        from django.conf import settings

        return int(settings.COPPS_DELIVERY_MAX_ATTEMPTS)

    def preview(self, delivery: Delivery) -> dict:
        """How the post looks (the console's sandbox view): {"text", "title", ...}."""
        return {"text": delivery.payload.get("text", ""), "title": delivery.payload.get("title")}
