"""Every write to the inbox is one of these named actions (views, hooks and jobs call them).

Each runs in one transaction with its audit record. Audit records name conversations and
entries by id and never carry what the citizen wrote.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from copps.audit import log as audit

from .models import (
    INVESTIGATION_SOURCES,
    Alert,
    Conversation,
    Decision,
    Desk,
    Direction,
    Entry,
    HouseRule,
    Label,
    Priority,
    SendState,
    State,
    Visibility,
)
from .replies import ReplyError, sender_for

logger = logging.getLogger("copps.inbox")

PRIORITY_NAMES = {p.name.lower(): p for p in Priority}


def sla_hours() -> dict[int, float]:
    """Response-time targets per priority from ``COPPS_INBOX_SLA_HOURS`` ("urgent=1,…")."""
    targets = {Priority.URGENT: 1.0, Priority.HIGH: 4.0, Priority.NORMAL: 24.0, Priority.LOW: 72.0}
    for item in settings.COPPS_INBOX_SLA_HOURS:
        name, _sep, value = item.partition("=")
        priority = PRIORITY_NAMES.get(name.strip().lower())
        try:
            hours = float(value)
        except ValueError:
            continue
        if priority is not None and hours > 0:
            targets[priority] = hours
    return {int(k): v for k, v in targets.items()}


def due_for(priority: int, since: datetime) -> datetime:
    return since + timedelta(hours=sla_hours().get(int(priority), 24.0))


def desk_for(source: str) -> str:
    return Desk.INVESTIGATION if source in INVESTIGATION_SOURCES else Desk.COMMUNICATION


def open_conversation(
    *,
    source: str,
    external_id: str = "",
    message=None,
    channel=None,
    route: dict | None = None,
    author: str = "",
    subject: str = "",
    language: str = "",
    priority: int = Priority.NORMAL,
    desk: str | None = None,
) -> tuple[Conversation, bool]:
    """The conversation for ``(source, external_id)``, created if new; returns (it, created).

    Without ``external_id`` a new conversation is always created (a web tip, a comment).
    """
    fields = {
        "desk": desk or desk_for(source),
        "message": message,
        "channel": channel,
        "route": route or {},
        "author": author[:200],
        "subject": subject[:200],
        "language": language[:10],
        "priority": priority,
    }
    if not external_id:
        with transaction.atomic():
            conversation = Conversation.objects.create(source=source, **fields)
            _audit_open(conversation)
        return conversation, True
    external_id = external_id[:500]
    existing = Conversation.objects.filter(source=source, external_id=external_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                source=source, external_id=external_id, **fields
            )
            _audit_open(conversation)
        return conversation, True
    except IntegrityError:  # another process opened it a moment ago
        return Conversation.objects.get(source=source, external_id=external_id), False


def _audit_open(conversation: Conversation) -> None:
    audit.record(
        actor="inbox",
        action="inbox.open",
        obj=conversation,
        data={"source": conversation.source, "desk": conversation.desk},
    )


def receive(
    conversation: Conversation,
    *,
    text: str,
    author: str = "",
    external_id: str = "",
    url: str = "",
    visibility: str = Visibility.VISIBLE,
    urgent: bool = False,
    at: datetime | None = None,
) -> Entry | None:
    """Record what the citizen wrote. Returns the entry, or None for a duplicate (the same
    ``external_id`` in this conversation: pulled twice, redelivered).

    The conversation reopens if it was closed or waiting, owes an answer by its response-time
    target, and an urgent entry raises its priority and an alert for the on-duty operator.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if external_id and locked.entries.filter(external_id=external_id[:500]).exists():
            return None
        entry = Entry.objects.create(
            conversation=locked,
            direction=Direction.IN,
            text=text,
            author=author[:200],
            external_id=external_id[:500],
            url=url[:500],
            visibility=visibility,
            urgent=urgent,
            created_at=at or now,
        )
        fields = ["last_activity_at"]
        locked.last_activity_at = now
        if urgent and locked.priority < Priority.URGENT:
            locked.priority = Priority.URGENT
            fields.append("priority")
        if locked.state in (State.WAITING, State.CLOSED):
            locked.state = State.OPEN
            locked.closed_at = None
            fields += ["state", "closed_at"]
        if locked.due_at is None or urgent:
            locked.due_at = due_for(locked.priority, now)
            fields.append("due_at")
        locked.save(update_fields=fields)
        if urgent:
            raise_alert(locked, _("Urgent: danger words in a message from a citizen"))
    conversation.refresh_from_db()
    return entry


def raise_alert(conversation: Conversation, reason: str) -> Alert:
    alert = Alert.objects.create(desk=conversation.desk, conversation=conversation, reason=reason)
    audit.record(actor="inbox", action="inbox.alert", obj=conversation, data={"alert": alert.pk})
    logger.warning("inbox: urgent conversation %s on the %s desk", conversation.pk, alert.desk)
    return alert


def acknowledge(alert: Alert, *, by) -> None:
    with transaction.atomic():
        updated = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_by=by, acknowledged_at=timezone.now()
        )
        if updated:
            audit.record(actor=by, action="inbox.alert.acknowledge", obj=alert.conversation)


def add_note(conversation: Conversation, *, by, text: str) -> Entry:
    text = text.strip()
    if not text:
        raise ValidationError(_("Write a note first."))
    with transaction.atomic():
        entry = Entry.objects.create(
            conversation=conversation, direction=Direction.NOTE, text=text, by=by
        )
        audit.record(actor=by, action="inbox.note", obj=conversation, data={"entry": entry.pk})
    return entry


def reply(conversation: Conversation, *, by, text: str) -> Entry:
    """Answer the citizen through the channel they used, and record the outcome.

    The entry is written as "sending" before the outside call (a crash leaves a visible
    "sending" reply, never a silent double); then the source's sender sends it. An uncertain
    outcome is "unknown", never retried on its own.
    """
    text = text.strip()
    if not text:
        raise ValidationError(_("Write a reply first."))
    sender = sender_for(conversation.source)
    if sender is None:
        raise ValidationError(_("Replies cannot be sent on this channel."))
    now = timezone.now()
    with transaction.atomic():
        entry = Entry.objects.create(
            conversation=conversation,
            direction=Direction.OUT,
            text=text,
            by=by,
            send_state=SendState.SENDING,
        )
        fields = {"last_activity_at": now, "state": State.WAITING, "due_at": None}
        if conversation.first_response_at is None:
            fields["first_response_at"] = now
        Conversation.objects.filter(pk=conversation.pk).update(**fields)
        audit.record(actor=by, action="inbox.reply", obj=conversation, data={"entry": entry.pk})
    try:
        external = sender(entry)
    except ReplyError as error:
        state = SendState.UNKNOWN if error.maybe_sent else SendState.FAILED
        Entry.objects.filter(pk=entry.pk).update(send_state=state, send_error=str(error)[:500])
    except Exception as error:  # a broken sender must not lose the reply: a person decides
        logger.exception("inbox: reply %s on %s failed", entry.pk, conversation.source)
        Entry.objects.filter(pk=entry.pk).update(
            send_state=SendState.UNKNOWN, send_error=f"{type(error).__name__}"[:500]
        )
    else:
        Entry.objects.filter(pk=entry.pk).update(
            send_state=SendState.SENT, external_id=str(external or "")[:500]
        )
    entry.refresh_from_db()
    conversation.refresh_from_db()
    return entry


def triage(
    conversation: Conversation,
    *,
    by,
    state: str | None = None,
    priority: int | None = None,
    assigned_to=False,
    labels: Iterable[Label] | None = None,
) -> Conversation:
    """Change status, priority, assignee (``None`` unassigns; ``False`` leaves it) or labels."""
    changes: dict = {}
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if state is not None and state != locked.state:
            if state not in State.values:
                raise ValidationError(_("Unknown status."))
            changes["state"] = [locked.state, state]
            locked.state = state
            locked.closed_at = timezone.now() if state == State.CLOSED else None
            if state == State.CLOSED:
                locked.due_at = None
        if priority is not None and int(priority) != locked.priority:
            if int(priority) not in Priority.values:
                raise ValidationError(_("Unknown priority."))
            changes["priority"] = [locked.priority, int(priority)]
            locked.priority = int(priority)
            if locked.due_at is not None:
                locked.due_at = due_for(locked.priority, locked.last_activity_at)
        if assigned_to is not False and assigned_to != locked.assigned_to:
            changes["assigned_to"] = getattr(assigned_to, "username", None)
            locked.assigned_to = assigned_to
        locked.save()
        if labels is not None:
            labels = [label for label in labels if label.desk == locked.desk]
            before = {label.pk for label in locked.labels.all()}
            if before != {label.pk for label in labels}:
                locked.labels.set(labels)
                changes["labels"] = sorted(label.name for label in labels)
        if changes:
            audit.record(actor=by, action="inbox.triage", obj=locked, data=changes)
    conversation.refresh_from_db()
    return conversation


MODERATION_VISIBILITY: dict[str, str] = {
    Decision.Action.PUBLISH: Visibility.VISIBLE,
    Decision.Action.RESTORE: Visibility.VISIBLE,
    Decision.Action.HIDE: Visibility.HIDDEN,
    Decision.Action.REMOVE: Visibility.REMOVED,
}


def moderate(
    entry: Entry, *, by, action: str, rule: HouseRule | None = None, note: str = ""
) -> Entry:
    """Publish, hide, remove or restore a citizen's entry. Hiding and removing must cite the
    house rule that was broken; the author sees it. Removing also wipes the text (kept only as
    "removed"), hiding keeps it for the moderators."""
    if action not in MODERATION_VISIBILITY:
        raise ValidationError(_("Unknown moderation action."))
    if action in (Decision.Action.HIDE, Decision.Action.REMOVE) and rule is None:
        raise ValidationError(_("Choose the house rule that was broken."))
    if entry.direction != Direction.IN:
        raise ValidationError(_("Only what citizens wrote is moderated."))
    with transaction.atomic():
        locked = Entry.objects.select_for_update().get(pk=entry.pk)
        before = locked.visibility
        locked.visibility = MODERATION_VISIBILITY[action]
        locked.rule = rule if action in (Decision.Action.HIDE, Decision.Action.REMOVE) else None
        locked.moderated_at = timezone.now()
        if action == Decision.Action.REMOVE:
            locked.text = ""
        locked.save()
        Decision.objects.create(entry=locked, action=action, rule=rule, note=note[:300], by=by)
        audit.record(
            actor=by,
            action=f"inbox.moderate.{action}",
            obj=locked.conversation,
            from_state=before,
            to_state=locked.visibility,
            data={"entry": locked.pk, "rule": rule.number if rule else None},
        )
    entry.refresh_from_db()
    return entry
