"""The access helper for messages: who may see and do what with which message.

Views and the API ask here and nowhere else. Capabilities come from the role table
(copps.accounts.roles); this module adds the object-level rules: own area for officers, only
drafts are editable, nobody approves a message they wrote (four eyes). Corrections of published
messages are decided here too (``can_propose_correction``, ``can_decide_correction``): whoever
may write the message, or publish, may propose one; a reviewer other than the proposer decides.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from copps.accounts import roles
from copps.accounts.roles import Role, has_capability

from .workflow import EDITABLE_STATES, TRANSITIONS


def can_create(user, area=None, kind: str = "") -> bool:
    if kind == "notice":
        # Notices are investigators' work (copps.investigations), whatever their area.
        return has_capability(user, roles.NOTICES_MANAGE)
    if not has_capability(user, roles.MESSAGE_CREATE):
        return False
    if user.role == Role.OFFICER:
        return area is not None and user.area_id is not None and area.pk == user.area_id
    return True


def can_view(user, message) -> bool:
    return has_capability(user, roles.MESSAGE_VIEW)


def visible_messages(user, queryset=None):
    """The messages ``user`` may see, as a queryset (lists); must agree with ``can_view``."""
    from .models import Message

    qs = queryset if queryset is not None else Message.objects.all()
    return qs if has_capability(user, roles.MESSAGE_VIEW) else qs.none()


def is_contributor(user, message) -> bool:
    return user.pk == message.author_id or user.pk in (message.contributor_ids or [])


def can_edit(user, message) -> bool:
    return message.state in EDITABLE_STATES and may_write(user, message)


def may_write(user, message) -> bool:
    """Whether ``user`` may write this message's text, whatever its state."""
    if has_capability(user, roles.MESSAGE_EDIT_ANY):
        return True
    if message.kind == "notice":
        # Any investigator may work on a notice's text (cases are shared); submitting it still
        # needs a valid authorisation (copps.newsroom.gates) and another person's approval.
        return has_capability(user, roles.NOTICES_MANAGE)
    if not has_capability(user, roles.MESSAGE_CREATE) or message.author_id != user.pk:
        return False
    if user.role == Role.OFFICER:
        return message.area_id is not None and message.area_id == user.area_id
    return True


def can(user, message, action: str) -> bool:
    """May ``user`` perform workflow ``action`` on ``message`` (ignoring its current state)?"""
    if action in ("submit", "withdraw"):
        return may_write(user, message)
    if action in ("approve", "reject"):
        return has_capability(user, roles.MESSAGE_REVIEW) and not is_contributor(user, message)
    if action == "correct":
        # Proposing only: a correction goes out once someone else approves it (four eyes).
        return can_propose_correction(user, message)
    if action in ("schedule", "unschedule", "publish", "retract"):
        return has_capability(user, roles.MESSAGE_PUBLISH)
    if action == "expire":
        return False  # only the worker
    if action == "fast_track":
        return False  # only copps.crowd's fast track, from a pre-approved template
    raise ValueError(action)


def allowed_actions(user, message) -> list[str]:
    """The actions the console offers: allowed by the state machine and for this user."""
    return [
        action
        for action, (sources, _target) in TRANSITIONS.items()
        if message.state in sources and action != "expire" and can(user, message, action)
    ]


def require(user, message, action: str) -> None:
    if not can(user, message, action):
        raise PermissionDenied(action)


def get_message_for(user, pk, queryset=None):
    """The message with ``pk`` if ``user`` may see it; 404 otherwise (no hint that it exists)."""
    from .models import Message

    qs = queryset if queryset is not None else Message.objects.all()
    message = qs.filter(pk=pk).first() if str(pk).isdigit() else None
    if message is None or not can_view(user, message):
        raise Http404
    return message


# Corrections of published messages --------------------------------------------------------------


def can_propose_correction(user, message) -> bool:
    """May ``user`` propose a correction of ``message`` (ignoring its current state)?"""
    return may_write(user, message) or has_capability(user, roles.MESSAGE_PUBLISH)


def can_decide_correction(user, correction) -> bool:
    """May ``user`` approve or reject ``correction``? Reviewers only, never the proposer."""
    return has_capability(user, roles.MESSAGE_REVIEW) and not is_proposer(user, correction)


def is_proposer(user, correction) -> bool:
    return user.pk == correction.proposed_by_id


def get_correction_for(user, pk, queryset=None):
    """The correction with ``pk`` if ``user`` may see its message; 404 otherwise."""
    from .models import Correction

    qs = queryset if queryset is not None else Correction.objects.select_related("message")
    correction = qs.filter(pk=pk).first() if str(pk).isdigit() else None
    if correction is None or not can_view(user, correction.message):
        raise Http404
    return correction
