"""Every write in the newsroom is one of these named actions.

Each runs in one transaction, checks access through ``copps.newsroom.access``, moves state only
through ``workflow.apply`` and leaves an audit record. Views, the API, the worker and commands
call these; nothing else writes messages.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from copps.audit import log as audit

from . import access, guidelines
from .models import CONTENT_LANGUAGES, Kind, Message, MessageImage, MessageVersion, Revision
from .workflow import PUBLIC_STATES, TRANSITIONS, Conflict, InvalidTransition, State, apply

__all__ = ["Conflict", "InvalidTransition", "GuidelineBlocked", "SelfApproval"]


class GuidelineBlocked(Exception):
    def __init__(self, findings):
        self.findings = findings
        super().__init__("blocking guideline findings")


class SelfApproval(PermissionDenied):
    """Four eyes: nobody approves a message they wrote."""


@dataclass
class VersionInput:
    language: str
    title: str
    body: str
    teaser: str = ""


def _validate_versions(versions: list[VersionInput]) -> None:
    errors: dict[str, list[str]] = {}
    if not versions:
        errors["versions"] = [_("At least one language version is required.")]
    seen = set()
    for v in versions:
        prefix = v.language
        if v.language not in CONTENT_LANGUAGES:
            errors["language"] = [
                _("Unknown language %(lang)r; use one of %(langs)s.")
                % {"lang": v.language, "langs": ", ".join(CONTENT_LANGUAGES)}
            ]
            continue
        if v.language in seen:
            errors["language"] = [_("Each language may appear only once.")]
        seen.add(v.language)
        if not v.title.strip():
            errors[f"{prefix}.title"] = [_("A title is required.")]
        elif len(v.title) > 200:
            errors[f"{prefix}.title"] = [_("The title is longer than 200 characters.")]
        if not v.body.strip():
            errors[f"{prefix}.body"] = [_("The text is required.")]
        elif len(v.body) > settings.COPPS_MAX_BODY_CHARS:
            errors[f"{prefix}.body"] = [
                _("The text is longer than %(n)s characters.") % {"n": settings.COPPS_MAX_BODY_CHARS}
            ]
        if len(v.teaser) > 400:
            errors[f"{prefix}.teaser"] = [_("The teaser is longer than 400 characters.")]
    if errors:
        raise ValidationError(errors)


def _write_versions(message: Message, versions: list[VersionInput], *, replace: bool) -> None:
    if replace:
        message.versions.exclude(language__in=[v.language for v in versions]).delete()
    for v in versions:
        MessageVersion.objects.update_or_create(
            message=message,
            language=v.language,
            defaults={"title": v.title.strip(), "teaser": v.teaser.strip(), "body": v.body},
        )
    if hasattr(message, "_prefetched_objects_cache"):
        message._prefetched_objects_cache.pop("versions", None)


def create_message(
    *,
    by,
    versions: list[VersionInput],
    kind: str = Kind.NEWS,
    area=None,
    audiences=(),
    channels=None,
    is_personal: bool = False,
    signature: str = "",
    publish_at=None,
    expires_at=None,
    client_key: str | None = None,
) -> tuple[Message, bool]:
    """Create a draft. Returns (message, created); with a known ``client_key``, the earlier one."""
    if client_key:
        existing = Message.objects.filter(author=by, client_key=client_key).first()
        if existing:
            return existing, False
    if not access.can_create(by, area):
        raise PermissionDenied("message.create")
    if kind not in Kind.values:
        raise ValidationError({"kind": [_("Unknown kind.")]})
    _validate_versions(versions)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                author=by,
                kind=kind,
                area=area,
                channels=_clean_channels(channels),
                is_personal=is_personal,
                signature=signature.strip(),
                publish_at=publish_at,
                expires_at=expires_at,
                client_key=client_key or None,
                contributor_ids=[by.pk],
            )
            message.audiences.set(audiences)
            _write_versions(message, versions, replace=False)
            audit.record(
                actor=by,
                action="message.create",
                obj=message,
                to_state=message.state,
                data={"languages": [v.language for v in versions], "kind": kind},
            )
    except IntegrityError:
        # The same client key raced in from a double submit: hand back the one that won.
        existing = Message.objects.filter(author=by, client_key=client_key).first()
        if existing is None:
            raise
        return existing, False
    return message, True


def _clean_channels(channels) -> list[str]:
    from .renditions import CHANNELS

    channels = list(channels or ["web", "rss"])
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ValidationError({"channels": [_("Unknown channel: %s") % ", ".join(unknown)]})
    return [c for c in CHANNELS if c in channels]


def update_message(message: Message, *, by, versions=None, replace_versions=False, **fields) -> Message:
    """Edit a draft: text per language and/or settings (kind, audiences, channels, ...)."""
    if not access.can_edit(by, message):
        raise PermissionDenied("message.edit")
    allowed = {
        "kind", "area", "channels", "is_personal", "signature", "publish_at", "expires_at", "audiences",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"unknown fields {unknown}")
    if "kind" in fields and fields["kind"] not in Kind.values:
        raise ValidationError({"kind": [_("Unknown kind.")]})
    if "area" in fields and by.role == "officer" and (
        fields["area"] is None or fields["area"].pk != by.area_id
    ):
        raise PermissionDenied("message.area")
    if versions is not None:
        _validate_versions(versions)
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.version != message.version or locked.state != message.state:
            raise Conflict(f"message {message.pk} was changed by someone else")
        audiences = fields.pop("audiences", None)
        if "channels" in fields:
            fields["channels"] = _clean_channels(fields["channels"])
        for name, value in fields.items():
            setattr(message, name, value)
        if by.pk not in message.contributor_ids:
            message.contributor_ids = [*message.contributor_ids, by.pk]
        message.version += 1
        message.updated_at = timezone.now()
        message.save()
        if audiences is not None:
            message.audiences.set(audiences)
        if versions is not None:
            _write_versions(message, versions, replace=replace_versions)
        audit.record(
            actor=by,
            action="message.edit",
            obj=message,
            data={
                "fields": sorted(fields) + (["audiences"] if audiences is not None else []),
                "languages": [v.language for v in versions or []],
            },
        )
    return message


def add_image(message: Message, *, by, upload, alt_text: str) -> MessageImage:
    """Attach an image: verified to be one, re-encoded without EXIF/GPS metadata."""
    from .images import clean_image

    if not access.can_edit(by, message):
        raise PermissionDenied("message.edit")
    alt_text = (alt_text or "").strip()
    if not alt_text:
        raise ValidationError({"alt_text": [_("Describe the image for people who cannot see it.")]})
    if len(alt_text) > 300:
        raise ValidationError({"alt_text": [_("Keep the description under 300 characters.")]})
    data, ext = clean_image(upload)
    with transaction.atomic():
        image = MessageImage(message=message, alt_text=alt_text)
        image.sha256 = hashlib.sha256(data).hexdigest()
        # Named: Django 6.1 reads the dimensions from the assigned content, which needs a name.
        image.file.save(f"upload.{ext}", ContentFile(data, name=f"upload.{ext}"), save=False)
        image.save()
        audit.record(actor=by, action="message.add_image", obj=message, data={"image": image.pk})
    return image


def remove_image(image: MessageImage, *, by) -> None:
    message = image.message
    if not access.can_edit(by, message):
        raise PermissionDenied("message.edit")
    with transaction.atomic():
        audit.record(actor=by, action="message.remove_image", obj=message, data={"image": image.pk})
        image.file.delete(save=False)
        image.delete()


def findings_for(message: Message):
    return guidelines.check(guidelines.Content.from_message(message))


def _lock(message: Message) -> dict:
    """Lock the message's row for this transaction and return what it holds now.

    Used to tell a repeated click (the row already shows the result: idempotent) from a real
    conflict (someone else changed it: ``workflow.apply`` raises Conflict).
    """
    current = (
        Message.objects.select_for_update()
        .filter(pk=message.pk)
        .values("state", "version", "approved_by_id")
        .first()
    )
    if current is None:
        raise Conflict(f"message {message.pk} no longer exists")
    return current


def _check_guidelines(message: Message, *, by, override_reason: str, action: str) -> list:
    """Findings for ``message``; blocking ones stop ``action`` unless an editor overrides them.

    Raises GuidelineBlocked (no reason given) or PermissionDenied (a reason, but the user may
    not override). An override is audited with its reason, in the caller's transaction.
    """
    findings = findings_for(message)
    blocking = [f for f in findings if f.severity == guidelines.BLOCKING]
    if blocking:
        if not override_reason.strip():
            raise GuidelineBlocked(findings)
        if not access.has_capability(by, access.roles.MESSAGE_OVERRIDE):
            raise PermissionDenied("message.override")
        audit.record(
            actor=by,
            action="message.override_guidelines",
            obj=message,
            reason=override_reason.strip(),
            data={"overridden": sorted({f.code for f in blocking}), "during": action},
        )
    return findings


def submit_message(message: Message, *, by, override_reason: str = "") -> list:
    """Send a draft for review and return the guideline findings.

    Blocking findings raise GuidelineBlocked unless an editor overrides them with a reason
    (audited as ``message.override_guidelines``). Submitting a message that is already submitted
    changes nothing, also when two submits race (a double click).
    """
    if not access.can(by, message, "submit"):
        raise PermissionDenied("message.submit")
    with transaction.atomic():
        if _lock(message)["state"] == State.SUBMITTED:
            message.refresh_from_db()
            return findings_for(message)  # a double submit changes nothing
        if message.state != State.DRAFT:
            raise InvalidTransition("submit", message.state)
        findings = _check_guidelines(
            message, by=by, override_reason=override_reason, action="submit"
        )
        blocking = sorted({f.code for f in findings if f.severity == guidelines.BLOCKING})
        data = {"findings": sorted({f.code for f in findings})}
        if blocking:
            data["overridden"] = blocking
        apply(
            message,
            "submit",
            by=by,
            data=data,
            override_reason=override_reason.strip() if blocking else "",
            rejection_reason="",
        )
    return findings


def withdraw_message(message: Message, *, by) -> None:
    access.require(by, message, "withdraw")
    apply(message, "withdraw", by=by)


def reject_message(message: Message, *, by, reason: str) -> None:
    if not access.can(by, message, "reject"):
        raise _refusal(by, message)
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why, so the author can fix it.")]})
    apply(message, "reject", by=by, reason=reason, rejection_reason=reason.strip())


def _refusal(by, message) -> PermissionDenied:
    if access.is_contributor(by, message):
        return SelfApproval(_("You cannot review a message you wrote: another editor must."))
    return PermissionDenied("message.review")


def approve_message(message: Message, *, by, publish_at=None) -> Message:
    """Approve; publish at once, or schedule when a publication time lies in the future.

    Four eyes: the author and every contributor are refused (SelfApproval). Of two editors
    approving at once, one wins and the other gets Conflict; the same editor approving twice
    changes nothing.
    """
    if not access.can(by, message, "approve"):
        raise _refusal(by, message)
    when = publish_at or message.publish_at
    with transaction.atomic():
        current = _lock(message)
        if current["approved_by_id"] == by.pk and current["state"] in (
            State.APPROVED, State.SCHEDULED, *PUBLIC_STATES,
        ):
            message.refresh_from_db()
            return message  # the same editor clicking twice: nothing more happens
        apply(message, "approve", by=by, approved_by=by)
        if when and when > timezone.now():
            apply(message, "schedule", by=by, publish_at=when, data={"publish_at": when.isoformat()})
        else:
            _publish(message, by=by)
    return message


def schedule_message(message: Message, *, by, publish_at) -> None:
    access.require(by, message, "schedule")
    if publish_at is None or publish_at <= timezone.now():
        raise ValidationError({"publish_at": [_("Choose a moment in the future.")]})
    if message.state == State.SCHEDULED:
        with transaction.atomic():
            apply(message, "unschedule", by=by)
            apply(message, "schedule", by=by, publish_at=publish_at, data={"publish_at": publish_at.isoformat()})
        return
    apply(message, "schedule", by=by, publish_at=publish_at, data={"publish_at": publish_at.isoformat()})


def unschedule_message(message: Message, *, by) -> None:
    access.require(by, message, "unschedule")
    apply(message, "unschedule", by=by)


def publish_message(message: Message, *, by) -> None:
    """Publish an approved or scheduled message now (idempotent when already public)."""
    access.require(by, message, "publish")
    if message.state in PUBLIC_STATES:
        return
    with transaction.atomic():
        _publish(message, by=by)


def _snapshot(message: Message) -> dict:
    return {
        v.language: {"title": v.title, "teaser": v.teaser, "body": v.body}
        for v in message.versions_list()
    }


def _publish(message: Message, *, by) -> None:
    now = timezone.now()
    apply(message, "publish", by=by, published_at=now)
    Revision.objects.create(
        message=message,
        number=message.revisions.count() + 1,
        created_by=getattr(by, "username", str(by)),
        snapshot=_snapshot(message),
    )


def correct_message(
    message: Message, *, by, note: str, versions: list[VersionInput], override_reason: str = ""
) -> None:
    """Change a published message; the page says what was corrected and when.

    The corrected text goes out without a second review, so it passes the guideline checks
    first: blocking findings raise GuidelineBlocked unless an editor overrides them with a reason.
    Each correction leaves a Revision with the note.
    """
    access.require(by, message, "correct")
    if message.state not in TRANSITIONS["correct"][0]:
        raise InvalidTransition("correct", message.state)
    if not note.strip():
        raise ValidationError({"note": [_("Say what was corrected; readers will see it.")]})
    _validate_versions(versions)
    with transaction.atomic():
        now = timezone.now()
        _write_versions(message, versions, replace=False)
        _check_guidelines(message, by=by, override_reason=override_reason, action="correct")
        apply(
            message, "correct", by=by, reason=note, corrected_at=now, correction_note=note.strip(),
            data={"languages": [v.language for v in versions]},
        )
        Revision.objects.create(
            message=message,
            number=message.revisions.count() + 1,
            created_by=by.username,
            note=note.strip(),
            snapshot=_snapshot(message),
        )


def retract_message(message: Message, *, by, reason: str) -> None:
    """Take a published message down; its page keeps a short notice that it was withdrawn."""
    access.require(by, message, "retract")
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the message is withdrawn.")]})
    apply(
        message, "retract", by=by, reason=reason, retracted_at=timezone.now(),
        retraction_note=reason.strip(),
    )


def update_word_list(*, by, language: str, category: str, terms: str):
    """Replace the terms of one word list (coaches and administrators keep these lists)."""
    from .models import WordList

    if not access.has_capability(by, access.roles.GUIDELINES_MANAGE):
        raise PermissionDenied("guidelines.manage")
    if language not in CONTENT_LANGUAGES or category not in WordList.Category.values:
        raise ValidationError({"language": [_("Unknown language or category.")]})
    cleaned = "\n".join(sorted({t.strip() for t in terms.splitlines() if t.strip()}, key=str.lower))
    with transaction.atomic():
        wl, _created = WordList.objects.get_or_create(
            language=language, category=category, defaults={"terms": ""}
        )
        before = set(wl.term_list())
        wl.terms = cleaned
        wl.updated_at = timezone.now()
        wl.save()
        after = set(wl.term_list())
        audit.record(
            actor=by,
            action="guidelines.update_word_list",
            obj=wl,
            data={"added": sorted(after - before), "removed": sorted(before - after)},
        )
    return wl


# The worker's actions --------------------------------------------------------------------------

def publish_due(now=None) -> int:
    """Publish every scheduled message whose time has come. Safe to run in several workers.

    A message whose end (``expires_at``) has already passed is not published: ``expire_due``
    expires it unpublished. Of two workers, the one with a stale copy gets Conflict and skips.
    """
    now = now or timezone.now()
    done = 0
    due = Message.objects.filter(state=State.SCHEDULED, publish_at__lte=now).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    for message in due:
        try:
            with transaction.atomic():
                _publish(message, by="worker")
            done += 1
        except (Conflict, InvalidTransition):
            pass  # someone else (another worker, an editor) got there first
    return done


def expire_due(now=None) -> int:
    """Expire every public or still scheduled message whose end has passed (idempotent)."""
    now = now or timezone.now()
    done = 0
    sources = TRANSITIONS["expire"][0]
    for message in Message.objects.filter(state__in=sources, expires_at__lte=now):
        try:
            apply(message, "expire", by="worker")
            done += 1
        except (Conflict, InvalidTransition):
            pass
    return done
