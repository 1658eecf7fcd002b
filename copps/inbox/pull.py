"""Replies and mentions from the channels into the inbox, and our answers back the same way.

The worker calls ``pull_due(now)`` every round. Each channel account whose adapter can pull
(``Adapter.can_pull``: Mastodon, Bluesky, X, Facebook) is asked at most once every
``COPPS_INBOX_PULL_SECONDS`` for what is newer than its stored cursor (``PullCursor``). Fediverse
replies and mentions, which the federation inbox already holds (``InboxItem``), are copied over
by item id.

Each reply or mention becomes an entry of a conversation:

- a message answering one we already have in the inbox (our reply or the citizen's earlier
  message) continues that conversation;
- anything else opens a conversation per thread and author (two citizens replying to the same
  post of ours are two conversations).

Pulling is idempotent (entries are deduplicated by their id on the service) and never crashes
the job: a service that fails (an HTTP error, a garbled answer) is recorded as the cursor's
``last_error`` and asked again next time from the same cursor, so nothing is skipped.

Replies go back through the same account (``send_channel_reply``) or, for the fediverse, as a
Note from our actor queued on the federation's outgoing queue (``copps.federation.replies``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from copps.channels.base import ChannelError, Mention
from copps.channels.models import Channel, ChannelStatus, Delivery
from copps.channels.registry import adapter_class, adapter_for

from . import actions
from .models import Conversation, Entry, PullCursor, Source, Visibility
from .replies import ReplyError

logger = logging.getLogger("copps.inbox")

# Channel kinds whose replies and mentions come into the inbox, and their inbox source.
SOURCES = {
    "mastodon": Source.MASTODON,
    "bluesky": Source.BLUESKY,
    "x": Source.X,
    "facebook": Source.FACEBOOK,
}
FEDIVERSE = "fediverse"


def interval() -> timedelta:
    return timedelta(seconds=max(1, int(getattr(settings, "COPPS_INBOX_PULL_SECONDS", 60))))


def channels() -> list[Channel]:
    """The channel accounts to pull from: enabled, not disabled, with an adapter that pulls."""
    found = []
    for channel in Channel.objects.filter(kind__in=list(SOURCES), enabled=True).exclude(
        status=ChannelStatus.DISABLED
    ):
        try:
            if adapter_class(channel.kind).can_pull:
                found.append(channel)
        except (ImportError, KeyError):
            continue
    return found


def pull_due(now: datetime | None = None, *, force: bool = False, report=None) -> int:
    """One round: every account that is due, then the fediverse; returns the entries stored.

    ``report(name, stored, error)`` is called per account (the ``copps inbox pull`` command)."""
    now = now or timezone.now()
    stored = 0
    for channel in channels():
        count = pull_channel(channel, now, force=force, report=report)
        stored += count or 0
    count = pull_fediverse(now, force=force, report=report)
    return stored + (count or 0)


def _claim(row: PullCursor, now: datetime, force: bool) -> bool:
    """Take this round for the cursor (one worker at a time; at most once per interval)."""
    rows = PullCursor.objects.filter(pk=row.pk)
    if not force:
        from django.db.models import Q

        rows = rows.filter(Q(pulled_at__isnull=True) | Q(pulled_at__lte=now - interval()))
    return bool(rows.update(pulled_at=now))


def _fail(row: PullCursor, error: str, report, name: str) -> None:
    PullCursor.objects.filter(pk=row.pk).update(last_error=error[:500])
    logger.warning("inbox: pulling %s failed: %s", name, error[:200])
    if report:
        report(name, 0, error)


def pull_channel(
    channel: Channel, now: datetime | None = None, *, force: bool = False, report=None
) -> int | None:
    """Pull one account if it is due; returns the entries stored (None: not due)."""
    now = now or timezone.now()
    row, _created = PullCursor.objects.get_or_create(channel=channel)
    if not _claim(row, now, force):
        return None
    name = f"{channel.kind}:{channel.slug}"
    try:
        mentions, cursor = adapter_for(channel).fetch_mentions(row.cursor)
    except ChannelError as error:
        _fail(row, str(error), report, name)
        return 0
    except Exception as error:  # a broken adapter or answer must not stop the other accounts
        logger.exception("inbox: pulling %s crashed", name)
        _fail(row, f"{type(error).__name__}: {error}", report, name)
        return 0
    stored = 0
    try:
        for mention in mentions:
            if store_mention(channel, mention):
                stored += 1
    except Exception as error:
        # Keep the old cursor: the next pull reads these again and stores only what is missing.
        logger.exception("inbox: storing what %s sent failed", name)
        _fail(row, f"{type(error).__name__}: {error}", report, name)
        return stored
    PullCursor.objects.filter(pk=row.pk).update(
        cursor=str(cursor or row.cursor)[:200], last_error=""
    )
    if report:
        report(name, stored, "")
    return stored


def _continued(
    source: str, channel: Channel | None, external_id: str, author: str
) -> Conversation | None:
    """The conversation holding the entry ``external_id`` (ours or the citizen's), if the same
    citizen wrote it. Someone else answering in that thread starts their own conversation:
    otherwise our next answer there would go to them."""
    if not external_id:
        return None
    entry = (
        Entry.objects.filter(
            conversation__source=source,
            conversation__channel=channel,
            conversation__author=author[:200],
            external_id=external_id,
        )
        .select_related("conversation")
        .first()
    )
    return entry.conversation if entry else None


def _our_post(channel: Channel, external_id: str) -> Delivery | None:
    if not external_id:
        return None
    return (
        Delivery.objects.filter(channel=channel, external_id=external_id)
        .select_related("message")
        .first()
    )


def store_mention(channel: Channel, mention: Mention) -> bool:
    """Record one pulled reply or mention; False when it was already there."""
    source = SOURCES[channel.kind]
    if not mention.external_id or not mention.text:
        return False
    if Entry.objects.filter(
        conversation__source=source,
        conversation__channel=channel,
        external_id=mention.external_id[:500],
    ).exists():
        return False  # already there (pulled before)
    conversation = _continued(source, channel, mention.in_reply_to, mention.author)
    delivery = None
    if conversation is None:
        delivery = _our_post(channel, mention.in_reply_to_our_post or mention.in_reply_to)
        if delivery is not None:
            root = delivery.external_id
        else:
            root = mention.in_reply_to_our_post or mention.thread_id or mention.external_id
        # One conversation per thread and author: two citizens in one thread (under one of our
        # posts) are two conversations, and an answer never goes to the wrong one.
        thread = f"{root}~{mention.author or mention.external_id}"
        conversation, _created = actions.open_conversation(
            source=source,
            external_id=thread,
            channel=channel,
            message=delivery.message if delivery else None,
            author=mention.author,
            language=mention.language,
            route=_route(mention),
        )
    return _receive(conversation, mention, _route(mention))


def _route(mention: Mention) -> dict:
    return {"account": mention.author, "reply_to": mention.external_id, **mention.reply}


def _receive(conversation: Conversation, mention: Mention, route: dict, **kwargs) -> bool:
    with transaction.atomic():
        entry = actions.receive(
            conversation,
            text=mention.text,
            author=mention.author,
            external_id=mention.external_id,
            url=mention.url,
            at=mention.created_at if isinstance(mention.created_at, datetime) else None,
            **kwargs,
        )
        if entry is None:
            return False
        # Our answer goes to the citizen's latest message.
        Conversation.objects.filter(pk=conversation.pk).update(
            route={**(conversation.route or {}), **route}
        )
    return True


# Replies ----------------------------------------------------------------------------------------


def send_channel_reply(entry: Entry) -> str:
    """The reply sender of the channel sources: through the account the mention came in on."""
    conversation = Conversation.objects.select_related("channel").get(pk=entry.conversation_id)
    channel = conversation.channel
    if channel is None or not channel.enabled:
        raise ReplyError("the channel account is no longer available")
    route = dict(conversation.route or {})
    route["key"] = f"copps-inbox-reply-{entry.pk}"
    try:
        return adapter_for(channel).send_reply(
            str(route.get("reply_to") or ""), entry.text, thread=route
        )
    except ChannelError as error:
        raise ReplyError(str(error), maybe_sent=error.maybe_sent) from None
    except NotImplementedError:
        raise ReplyError("this channel cannot send replies") from None


# The fediverse ----------------------------------------------------------------------------------


def pull_fediverse(
    now: datetime | None = None, *, force: bool = False, report=None, limit: int = 500
) -> int | None:
    """Copy new fediverse replies and mentions (``InboxItem``) into the inbox."""
    from copps.federation.models import InboxItem, ItemKind

    now = now or timezone.now()
    row, _created = PullCursor.objects.get_or_create(name=FEDIVERSE)
    if not _claim(row, now, force):
        return None
    try:
        after = int(row.cursor or 0)
    except ValueError:
        after = 0
    # In order, every kind: posts of followed accounts are passed over (not citizens' messages).
    items = list(
        InboxItem.objects.filter(pk__gt=after)
        .select_related("actor", "remote", "message")
        .order_by("pk")[:limit]
    )
    stored = 0
    last = after
    try:
        for item in items:
            if item.kind in (ItemKind.REPLY, ItemKind.MENTION) and store_fediverse_item(item):
                stored += 1
            last = item.pk
    except Exception as error:
        logger.exception("inbox: storing fediverse items failed")
        PullCursor.objects.filter(pk=row.pk).update(cursor=str(last))
        _fail(row, f"{type(error).__name__}: {error}", report, FEDIVERSE)
        return stored
    PullCursor.objects.filter(pk=row.pk).update(cursor=str(last), last_error="")
    if report:
        report(FEDIVERSE, stored, "")
    return stored


def store_fediverse_item(item) -> bool:
    from copps.federation import ids
    from copps.federation.replies import fediverse_text  # noqa: I001

    actor, remote = item.actor, item.remote
    text = fediverse_text(item)
    if actor is None or remote is None or not text:
        return False  # an account of ours since deleted; a post with nothing to read
    handle = remote.handle
    if item.message_id:
        # A reply to one of our posts: one conversation per post and author.
        thread = f"{ids.note(actor.username, item.message_id)}~{remote.uri}"
    else:
        # A mention: one conversation per author and account of ours.
        thread = f"{ids.actor(actor.username)}~{remote.uri}"
    route = {
        "account": handle,
        "actor": actor.username,
        "remote": remote.uri,
        "reply_to": item.object_id,
    }
    conversation, _created = actions.open_conversation(
        source=Source.FEDIVERSE,
        external_id=thread,
        channel=actor.channel,
        message=item.message,
        author=handle,
        language=item.language,
        route=route,
    )
    mention = Mention(
        external_id=item.object_id,
        thread_id=thread,
        author=handle,
        text=text,
        url=item.url,
        created_at=item.published or item.received_at,
        language=item.language,
    )
    return _receive(conversation, mention, route, visibility=Visibility.VISIBLE)


def send_fediverse_reply(entry: Entry) -> str:
    """The fediverse's reply sender: a Note from our account, queued for the remote inbox."""
    from copps.federation import replies

    route = Conversation.objects.get(pk=entry.conversation_id).route or {}
    try:
        return replies.send_reply(
            actor=str(route.get("actor") or ""),
            remote=str(route.get("remote") or ""),
            in_reply_to=str(route.get("reply_to") or ""),
            text=entry.text,
            key=f"inbox-{entry.pk}",
        )
    except replies.ReplyFailed as error:
        raise ReplyError(str(error)) from None


def register_senders(register: Callable[[str, Callable[[Entry], str]], None]) -> None:
    """Reply senders of the sources pulled here (called from the inbox app's ready())."""
    from .mail import send_email_reply

    for source in SOURCES.values():
        register(source, send_channel_reply)
    register(Source.FEDIVERSE, send_fediverse_reply)
    register(Source.EMAIL, send_email_reply)
