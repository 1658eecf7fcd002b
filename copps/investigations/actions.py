"""Every write on notices is one of these named actions (audited, one transaction each).

The public text is a newsroom message: creating, submitting and taking it down go through the
newsroom's own actions and workflow, so four eyes, deliveries and retraction are the newsroom's.
Taking a notice down (resolved, or its authorisation lapsed) retracts its message: the channel
posts are deleted where the channel allows it, and what cannot be deleted stays listed on the
message's deliveries as "remove by hand" (``copps.newsroom.distribution.on_retract``).
"""

import datetime as dt
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from copps.audit import log as audit
from copps.newsroom import actions as newsroom
from copps.newsroom import distribution
from copps.newsroom.actions import VersionInput
from copps.newsroom.models import Kind, Message
from copps.newsroom.renditions import CHANNELS
from copps.newsroom.workflow import PUBLIC_STATES, Conflict, State, apply

from . import access
from .models import Authorisation, Notice, NoticeKind, NoticeState, Resolution
from .rules import check_notice

logger = logging.getLogger("copps.investigations")

# The website and its feeds are the notice's home: every authorisation includes them.
HOME_BASE = ("web", "rss")
# What the retraction records (audit, delete deliveries): neutral, never personal data.
TAKEDOWN_REASON: dict[str, str] = {
    NoticeState.RESOLVED: "notice resolved",
    NoticeState.LAPSED: "authorisation lapsed",
}


def _require_manager(by) -> None:
    if not access.can_manage(by):
        raise PermissionDenied("notice.manage")


def _validate_kind(kind: str) -> None:
    if kind not in NoticeKind.values:
        raise ValidationError({"kind": [_("Unknown kind of notice.")]})


def _validate_case_reference(case_reference: str) -> str:
    case_reference = (case_reference or "").strip()
    if not case_reference:
        raise ValidationError({"case_reference": [_("The internal case reference is required.")]})
    if len(case_reference) > 120:
        raise ValidationError({"case_reference": [_("Keep it under 120 characters.")]})
    return case_reference


def create_notice(
    *, by, kind: str, case_reference: str, versions: list[VersionInput], area=None
) -> Notice:
    """A draft notice with its draft message (kind "notice", website and feeds only)."""
    _require_manager(by)
    _validate_kind(kind)
    case_reference = _validate_case_reference(case_reference)
    with transaction.atomic():
        message, _created = newsroom.create_message(
            by=by, versions=versions, kind=Kind.NOTICE, area=area, channels=list(HOME_BASE)
        )
        notice = Notice.objects.create(
            kind=kind, message=message, case_reference=case_reference, created_by=by
        )
        # The case reference stays out of the audit data: the log is read by editors and coaches.
        audit.record(
            actor=by,
            action="notice.create",
            obj=notice,
            to_state=notice.state,
            data={"kind": kind, "message": message.pk},
        )
    return notice


def update_notice(notice: Notice, *, by, kind: str, case_reference: str) -> Notice:
    _require_manager(by)
    if notice.is_closed:
        raise ValidationError({"state": [_("This notice is closed.")]})
    _validate_kind(kind)
    case_reference = _validate_case_reference(case_reference)
    with transaction.atomic():
        changed = sorted(
            name
            for name, value in (("kind", kind), ("case_reference", case_reference))
            if getattr(notice, name) != value
        )
        Notice.objects.filter(pk=notice.pk).update(kind=kind, case_reference=case_reference)
        notice.kind, notice.case_reference = kind, case_reference
        audit.record(actor=by, action="notice.edit", obj=notice, data={"fields": changed})
    return notice


def record_authorisation(
    notice: Notice,
    *,
    by,
    magistrate: str,
    reference: str,
    date: dt.date,
    channels_allowed: list[str],
    valid_until: dt.datetime,
) -> Authorisation:
    """Put a magistrate's order on record for ``notice`` (it replaces the previous one).

    The website and feeds are always allowed (the notice's home); an order already expired is
    refused. A newer order does not change a message already out: channels are restricted at
    submission.
    """
    _require_manager(by)
    if notice.is_closed:
        raise ValidationError({"state": [_("This notice is closed.")]})
    errors: dict[str, list[str]] = {}
    magistrate, reference = (magistrate or "").strip(), (reference or "").strip()
    if not magistrate:
        errors["magistrate"] = [_("Name the magistrate who gave the order.")]
    if not reference:
        errors["reference"] = [_("The reference of the order is required.")]
    unknown = [c for c in channels_allowed if c not in CHANNELS]
    if unknown:
        errors["channels_allowed"] = [_("Unknown channel: %s") % ", ".join(unknown)]
    if valid_until is None or valid_until <= timezone.now():
        errors["valid_until"] = [_("The order must still be valid: choose a moment to come.")]
    if errors:
        raise ValidationError(errors)
    allowed = set(channels_allowed) | set(HOME_BASE)
    with transaction.atomic():
        authorisation = Authorisation.objects.create(
            magistrate=magistrate[:160],
            reference=reference[:120],
            date=date,
            channels_allowed=[key for key in CHANNELS if key in allowed],
            valid_until=valid_until,
            recorded_by=by,
        )
        Notice.objects.filter(pk=notice.pk).update(authorisation=authorisation)
        notice.authorisation = authorisation
        audit.record(
            actor=by,
            action="notice.record_authorisation",
            obj=notice,
            data={
                "authorisation": authorisation.pk,
                "channels_allowed": authorisation.channels_allowed,
                "valid_until": valid_until.isoformat(),
            },
        )
    return authorisation


def submit_notice(notice: Notice, *, by, override_reason: str = "") -> list:
    """Send the notice's message for review (the normal newsroom workflow; an editor approves).

    Refused (ValidationError) without an authorisation valid now. The message's channels are
    first narrowed to those the authorisation allows (audited as a message edit). Returns the
    guideline findings, like ``submit_message``.
    """
    _require_manager(by)
    message = Message.objects.get(pk=notice.message_id)
    authorisation = notice.authorisation
    with transaction.atomic():
        if authorisation is not None and message.state == State.DRAFT:
            allowed = [c for c in message.channels or [] if c in authorisation.channels_allowed]
            if allowed != list(message.channels or []):
                message = newsroom.update_message(message, by=by, channels=allowed)
        check_notice(notice, message)
        findings = newsroom.submit_message(message, by=by, override_reason=override_reason)
        audit.record(
            actor=by,
            action="notice.submit",
            obj=notice,
            data={"message": message.pk, "channels": message.channels},
        )
    return findings


def resolve_notice(notice: Notice, *, by, resolution: str) -> Notice:
    """Found, solved or withdrawn: take the notice down everywhere (see ``take_down``)."""
    _require_manager(by)
    if resolution not in Resolution.values:
        raise ValidationError({"resolution": [_("Choose found, solved or withdrawn.")]})
    return take_down(notice, by=by, state=NoticeState.RESOLVED, resolution=resolution)


def take_down(notice: Notice, *, by, state: str, resolution: str = "") -> Notice:
    """Close ``notice`` (resolved or lapsed) and take its message down; idempotent.

    A public message is retracted (its channel posts deleted where possible, the rest listed for
    a person); one still on its way (submitted, approved, scheduled) goes back to draft, so it
    cannot go out. The public notice page then shows only a neutral note.
    """
    with transaction.atomic():
        locked = Notice.objects.select_for_update().get(pk=notice.pk)
        if locked.is_closed:
            return locked
        now = timezone.now()
        message = Message.objects.select_for_update().get(pk=locked.message_id)
        reason = TAKEDOWN_REASON[state]
        if message.state in PUBLIC_STATES:
            apply(
                message,
                "retract",
                by=by,
                reason=reason,
                retracted_at=now,
                retraction_note=reason,
                data={"notice": locked.pk},
            )
            distribution.on_retract(message, by=getattr(by, "username", str(by)), reason=reason)
        elif message.state == State.SCHEDULED:
            apply(message, "unschedule", by=by, data={"notice": locked.pk})
            apply(message, "withdraw", by=by, approved_by=None, data={"notice": locked.pk})
        elif message.state in (State.SUBMITTED, State.APPROVED):
            apply(message, "withdraw", by=by, approved_by=None, data={"notice": locked.pk})
        Notice.objects.filter(pk=locked.pk).update(
            state=state, resolved_at=now, resolution=resolution
        )
        audit.record(
            actor=by,
            action="notice.resolve" if state == NoticeState.RESOLVED else "notice.lapse",
            obj=locked,
            from_state=locked.state,
            to_state=state,
            data={"resolution": resolution, "message": message.pk},
        )
    notice.refresh_from_db()
    return notice


def lapse_due(now=None) -> int:
    """Worker job: take down every active notice whose authorisation has run out, and send back
    to draft a notice's message still waiting for review or publication under one that has.

    Safe to repeat and to run in several workers; one failing notice does not stop the others.
    """
    now = now or timezone.now()
    done = 0
    due = Notice.objects.filter(authorisation__valid_until__lte=now).select_related("authorisation")
    for notice in due.filter(state=NoticeState.ACTIVE):
        try:
            take_down(notice, by="worker", state=NoticeState.LAPSED)
            done += 1
        except Conflict:
            pass  # someone acted on the message meanwhile: the next tick looks again
        except Exception:
            logger.exception("taking down lapsed notice %s failed", notice.pk)
    waiting = due.filter(
        state=NoticeState.DRAFT,
        message__state__in=[State.SUBMITTED, State.APPROVED, State.SCHEDULED],
    )
    for notice in waiting:
        try:
            with transaction.atomic():
                message = Message.objects.select_for_update().get(pk=notice.message_id)
                if message.state == State.SCHEDULED:
                    apply(message, "unschedule", by="worker", data={"notice": notice.pk})
                if message.state in (State.SUBMITTED, State.APPROVED):
                    apply(
                        message,
                        "withdraw",
                        by="worker",
                        approved_by=None,
                        reason="authorisation lapsed",
                        data={"notice": notice.pk},
                    )
            done += 1
        except Conflict:
            pass
        except Exception:
            logger.exception(
                "withdrawing notice %s after its authorisation lapsed failed", notice.pk
            )
    return done
