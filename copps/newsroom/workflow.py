"""The message state machine: every state and every allowed transition, in one place.

``apply()`` is the only code that changes ``Message.state``. It moves the row with a
conditional UPDATE (state and version must still be what the caller read), so of two people
acting at once exactly one wins and the other gets ``Conflict``; and it writes the audit record
in the same transaction.
"""

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from copps.audit import log as audit


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted for review")
    APPROVED = "approved", _("Approved")
    SCHEDULED = "scheduled", _("Scheduled")
    PUBLISHED = "published", _("Published")
    CORRECTED = "corrected", _("Corrected")
    RETRACTED = "retracted", _("Retracted")
    EXPIRED = "expired", _("Expired")


# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({State.DRAFT}), State.SUBMITTED),
    # Also from approved: a message approved for later (not yet scheduled) can be taken back.
    "withdraw": (frozenset({State.SUBMITTED, State.APPROVED}), State.DRAFT),
    "reject": (frozenset({State.SUBMITTED}), State.DRAFT),
    "approve": (frozenset({State.SUBMITTED}), State.APPROVED),
    "schedule": (frozenset({State.APPROVED}), State.SCHEDULED),
    "unschedule": (frozenset({State.SCHEDULED}), State.APPROVED),
    "publish": (frozenset({State.APPROVED, State.SCHEDULED}), State.PUBLISHED),
    "correct": (frozenset({State.PUBLISHED, State.CORRECTED}), State.CORRECTED),
    "retract": (frozenset({State.PUBLISHED, State.CORRECTED}), State.RETRACTED),
    # Public order and crisis (copps.crowd): text from a template approved beforehand by a second
    # person, sent at once by a named commander; the template and the commander are audited.
    "fast_track": (frozenset({State.DRAFT}), State.PUBLISHED),
    # A scheduled message whose end passes before it went out expires without being published.
    "expire": (frozenset({State.SCHEDULED, State.PUBLISHED, State.CORRECTED}), State.EXPIRED),
}

# States whose message is visible on the public site.
PUBLIC_STATES = frozenset({State.PUBLISHED, State.CORRECTED})
# States in which the text may still be edited by its author.
EDITABLE_STATES = frozenset({State.DRAFT})
# Actions that require a reason.
REASON_REQUIRED = frozenset({"reject", "correct", "retract"})


class InvalidTransition(Exception):
    """The action is not allowed from the message's current state."""

    def __init__(self, action: str, state: str):
        self.action, self.state = action, state
        super().__init__(f"cannot {action} a message that is {state}")


class Conflict(Exception):
    """Someone else changed the message between reading and acting."""


def allowed_actions(state: str) -> list[str]:
    return [action for action, (sources, _target) in TRANSITIONS.items() if state in sources]


def apply(message, action: str, *, by, reason: str = "", data: dict | None = None, **fields):
    """Move ``message`` through ``action``; update extra ``fields`` on the same row.

    Raises InvalidTransition when the state does not allow the action, Conflict when the row
    changed since it was read. Returns the state it left.
    """
    sources, target = TRANSITIONS[action]
    if message.state not in sources:
        raise InvalidTransition(action, message.state)
    if action in REASON_REQUIRED and not reason.strip():
        raise ValueError(f"{action} requires a reason")
    from_state = message.state
    now = timezone.now()
    with transaction.atomic():
        updated = (
            type(message)
            .objects.filter(pk=message.pk, state=from_state, version=message.version)
            .update(state=target, version=message.version + 1, updated_at=now, **fields)
        )
        if updated != 1:
            raise Conflict(f"message {message.pk} was changed by someone else")
        message.state = target
        message.version += 1
        message.updated_at = now
        for name, value in fields.items():
            setattr(message, name, value)
        audit.record(
            actor=by,
            action=f"message.{action}",
            obj=message,
            from_state=from_state,
            to_state=target,
            reason=reason,
            data=data,
        )
    return from_state
