"""Comments on the force's public pages (news articles, notices), moderated against house rules.

A comment is an inbox ``Conversation`` (source ``comment``, communication desk, ``message`` =
the article or notice) holding one ``Entry`` from the citizen. Our replies are ``out`` entries in
the same conversation, written in the inbox console and published on the site at once (the
sender registered for ``Source.COMMENT``).

- Pre-moderation for the message kinds in ``COPPS_COMMENTS_PREMODERATED`` (default: notices):
  the comment waits as ``pending`` until a moderator publishes it. Elsewhere post-moderation:
  visible at once, hidden or removed later with a house rule.
- Flood limit: ``COPPS_COMMENTS_PER_SOURCE_PER_HOUR`` per client; the rate key is a daily HMAC of
  the address (``RateHit``), the address itself is never stored.
- The author keeps a private status link: ``/comments/<token>``, the token a signed entry id
  (no database field, cannot be guessed or changed).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from copps.audit import log as audit
from copps.channels.models import RateHit
from copps.lib.clientip import throttle_bucket
from copps.newsroom.models import Kind, Message
from copps.newsroom.workflow import PUBLIC_STATES

from . import actions
from .models import Direction, Entry, SendState, Source, Visibility

MAX_TEXT_CHARS = 2000
MAX_NAME_CHARS = 60
STATUS_SALT = "copps.comment"
# Shown instead of an empty display name (translated when the page is rendered).
ANONYMOUS = gettext_lazy("Anonymous citizen")
# Control characters a browser never sends in a textarea (NUL breaks PostgreSQL text columns).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Throttled(Exception):
    """Too many comments from this client in the last hour."""


class Closed(Exception):
    """Comments are closed on this message (expired, retracted, a closed notice, not public)."""


def clean_text(value: str, limit: int) -> str:
    value = _CONTROL.sub("", value or "").replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise ValidationError(
            _("At most %(n)s characters, please (you wrote %(m)s).") % {"n": limit, "m": len(value)}
        )
    return value


def premoderated(message: Message) -> bool:
    kinds = {str(k).strip() for k in getattr(settings, "COPPS_COMMENTS_PREMODERATED", ["notice"])}
    return message.kind in kinds


def comments_open(message: Message | None, *, now=None) -> bool:
    """Comments are open on a published (or corrected) message that has not expired; on a notice
    only while it is active."""
    if message is None or message.state not in PUBLIC_STATES:
        return False
    now = now or timezone.now()
    if message.expires_at and message.expires_at <= now:
        return False
    if message.kind == Kind.NOTICE:
        from copps.investigations.models import NoticeState

        notice = getattr(message, "notice", None)
        return notice is not None and notice.state == NoticeState.ACTIVE
    return True


def per_source_per_hour() -> int:
    return int(getattr(settings, "COPPS_COMMENTS_PER_SOURCE_PER_HOUR", 10))


def _rate_key(client: str, now) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(),
        f"comment:{throttle_bucket(client or '-')}:{now.date().isoformat()}".encode(),
        hashlib.sha256,
    ).hexdigest()


def check_flood(client: str, *, now=None) -> None:
    """Count one comment from ``client``; raise ``Throttled`` (without counting) over the limit.

    Old keys are deleted by the subscriptions retention job (RateHit rows of any purpose).
    """
    now = now or timezone.now()
    key = _rate_key(client, now)
    if RateHit.objects.filter(key=key, at__gte=now - timedelta(hours=1)).count() >= (
        per_source_per_hour()
    ):
        raise Throttled
    RateHit.objects.create(key=key, at=now)


def post_comment(
    message: Message, *, text: str, name: str = "", language: str = "", client: str = ""
) -> Entry:
    """Record a citizen's comment on ``message``; returns the entry (pending or visible).

    Raises ``Closed``, ``Throttled`` or ``ValidationError`` (empty or too long). ``client`` is
    only hashed into the flood key, never stored.
    """
    if not comments_open(message):
        raise Closed
    text = clean_text(text, MAX_TEXT_CHARS)
    if not text:
        raise ValidationError(_("Write your comment first."))
    name = clean_text(name, MAX_NAME_CHARS).replace("\n", " ")
    check_flood(client)
    visibility = Visibility.PENDING if premoderated(message) else Visibility.VISIBLE
    with transaction.atomic():
        conversation, _created = actions.open_conversation(
            source=Source.COMMENT,
            message=message,
            author=name,
            language=language,
            route={"message": message.pk},
        )
        entry = actions.receive(conversation, text=text, author=name, visibility=visibility)
        assert entry is not None  # no external id: never a duplicate
        audit.record(
            actor="public",
            action="inbox.comment",
            obj=conversation,
            data={"entry": entry.pk, "message": message.pk, "visibility": visibility},
        )
    return entry


# The author's status link ------------------------------------------------------------------


def status_token(entry: Entry) -> str:
    return signing.dumps({"e": entry.pk}, salt=STATUS_SALT)


def entry_for_token(token: str) -> Entry | None:
    """The comment behind a status token, or None for a forged, damaged or stale one."""
    try:
        data = signing.loads(token, salt=STATUS_SALT)
    except signing.BadSignature:
        return None
    pk = data.get("e") if isinstance(data, dict) else None
    if not isinstance(pk, int):
        return None
    return (
        Entry.objects.filter(pk=pk, direction=Direction.IN, conversation__source=Source.COMMENT)
        .select_related("conversation", "conversation__message", "rule")
        .first()
    )


# The public thread --------------------------------------------------------------------------

# Replies whose sending did not go through are not shown (a person decides about them).
_SHOWN_REPLY_STATES = (SendState.SENT, SendState.NONE)


def thread(message: Message) -> list[dict]:
    """The comments under ``message`` for the public, oldest first.

    Each item: ``entry`` (visible), or ``removed`` with the ``rule`` and date (hidden or removed:
    the text is never shown), and ``replies`` (our published answers). Pending comments are
    left out.
    """
    # One query for the whole thread (the article page is counted in queries).
    entries = (
        Entry.objects.filter(
            conversation__source=Source.COMMENT,
            conversation__message=message,
            direction__in=(Direction.IN, Direction.OUT),
        )
        .select_related("rule")
        .order_by("conversation__created_at", "conversation_id", "pk")
    )
    by_conversation: dict[int, list[Entry]] = {}
    for entry in entries:
        by_conversation.setdefault(entry.conversation_id, []).append(entry)
    items = []
    for thread_entries in by_conversation.values():
        comment = next((e for e in thread_entries if e.direction == Direction.IN), None)
        if comment is None or comment.visibility == Visibility.PENDING:
            continue
        replies = [
            e
            for e in thread_entries
            if e.direction == Direction.OUT and e.send_state in _SHOWN_REPLY_STATES
        ]
        moderated = comment.visibility in (Visibility.HIDDEN, Visibility.REMOVED)
        items.append(
            {
                "entry": comment,
                "author": comment.author or ANONYMOUS,
                "moderated": moderated,
                "rule": comment.rule if moderated else None,
                # Our answer to a removed comment would lose its context: shown only with it.
                "replies": [] if moderated else replies,
            }
        )
    return items


def context_for(message: Message) -> dict:
    """What the article and notice templates need to show the thread and the form."""
    items = thread(message)
    return {
        "comments": items,
        "comments_count": sum(1 for item in items if not item["moderated"]),
        "comments_open": comments_open(message),
        "comments_premoderated": premoderated(message),
    }


def send_reply(entry: Entry) -> str:
    """Reply sender for ``Source.COMMENT``: the reply is on the site as soon as it is recorded
    (the thread shows sent replies), so there is nothing to send."""
    return f"comment-reply:{entry.pk}"
