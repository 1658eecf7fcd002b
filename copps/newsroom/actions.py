"""Every write in the newsroom is one of these named actions.

Each runs in one transaction, checks access through ``copps.newsroom.access``, moves state only
through ``workflow.apply`` and leaves an audit record. Views, the API, the worker and commands
call these; nothing else writes messages.
"""

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from copps.audit import log as audit

from . import access, distribution, gates, guidelines
from .models import (
    CONTENT_LANGUAGES,
    Correction,
    CorrectionState,
    Kind,
    Message,
    MessageImage,
    MessageVersion,
    Revision,
)
from .workflow import PUBLIC_STATES, TRANSITIONS, Conflict, InvalidTransition, State, apply

logger = logging.getLogger("copps.newsroom")

__all__ = [
    "Conflict",
    "CorrectionClosed",
    "InvalidTransition",
    "GuidelineBlocked",
    "SelfApproval",
]


class GuidelineBlocked(Exception):
    def __init__(self, findings):
        self.findings = findings
        super().__init__("blocking guideline findings")


class SelfApproval(PermissionDenied):
    """Four eyes: nobody approves a message they wrote, nor a correction they proposed."""


class CorrectionClosed(Conflict):
    """The correction was already decided (approved, rejected) or replaced by a newer one."""

    def __init__(self, correction_id, state: str):
        self.correction_id, self.state = correction_id, state
        super().__init__(f"correction {correction_id} is {state}, no longer pending")


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
                _("The text is longer than %(n)s characters.")
                % {"n": settings.COPPS_MAX_BODY_CHARS}
            ]
        if len(v.teaser) > 400:
            errors[f"{prefix}.teaser"] = [_("The teaser is longer than 400 characters.")]
    if errors:
        raise ValidationError(errors)


def _validate_times(publish_at, expires_at) -> None:
    if publish_at and expires_at and expires_at <= publish_at:
        raise ValidationError({"expires_at": [_("The end must come after the publication time.")]})


def _refuse_if_ended(message: Message, moment, *, field: str) -> None:
    """A message whose end (``expires_at``) is not after ``moment`` must not go out at all:
    publishing it would put it on the site and in feeds only for the worker to expire it."""
    if message.expires_at and message.expires_at <= moment:
        raise ValidationError({field: [_("The end must come after the publication time.")]})


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
    if not access.can_create(by, area, kind):
        raise PermissionDenied("message.create")
    if kind not in Kind.values:
        raise ValidationError({"kind": [_("Unknown kind.")]})
    _validate_versions(versions)
    _validate_times(publish_at, expires_at)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                author=by,
                kind=kind,
                area=area,
                channels=_clean_channels(channels)
                if channels is not None
                else distribution.default_formats(
                    [v.language for v in versions], [getattr(a, "pk", a) for a in audiences]
                ),
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


def update_message(
    message: Message, *, by, versions=None, replace_versions=False, **fields
) -> Message:
    """Edit a draft: text per language and/or settings (kind, audiences, channels, ...)."""
    if not access.can_edit(by, message):
        raise PermissionDenied("message.edit")
    allowed = {
        "kind",
        "area",
        "channels",
        "is_personal",
        "signature",
        "publish_at",
        "expires_at",
        "audiences",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"unknown fields {unknown}")
    if "kind" in fields and fields["kind"] not in Kind.values:
        raise ValidationError({"kind": [_("Unknown kind.")]})
    if "kind" in fields and (fields["kind"] == Kind.NOTICE) != (message.kind == Kind.NOTICE):
        # A notice is bound to its authorisation: it cannot become, or stop being, a notice.
        raise ValidationError(
            {"kind": [_("A notice stays a notice; other messages cannot become one.")]}
        )
    if (
        "area" in fields
        and by.role == "officer"
        and (fields["area"] is None or fields["area"].pk != by.area_id)
    ):
        raise PermissionDenied("message.area")
    if versions is not None:
        _validate_versions(versions)
    _validate_times(
        fields.get("publish_at", message.publish_at), fields.get("expires_at", message.expires_at)
    )
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.version != message.version or locked.state != message.state:
            raise Conflict(f"message {message.pk} was changed by someone else")
        # Contributors as stored now: adding an image does not bump the version.
        message.contributor_ids = locked.contributor_ids
        audiences = fields.pop("audiences", None)
        if "channels" in fields and fields["channels"] is None:
            # Back to the default: the channels that serve its languages and audiences.
            languages = [v.language for v in versions] if versions else message.languages
            audience_ids = (
                [getattr(a, "pk", a) for a in audiences]
                if audiences is not None
                else list(message.audiences.values_list("pk", flat=True))
            )
            fields["channels"] = distribution.default_formats(languages, audience_ids)
        elif "channels" in fields:
            fields["channels"] = _clean_channels(fields["channels"])
        for name, value in fields.items():
            setattr(message, name, value)
        message.contributor_ids = _with_contributor(message, by)
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


def _lock_draft_for_images(message: Message, *, by) -> None:
    """Lock the message row, make sure it is still a draft and count ``by`` as a contributor.

    Images are part of what goes out (the picture and its alternative text): whoever adds or
    removes one may not approve the message (four eyes), and nothing may change on a message
    that was submitted meanwhile.
    """
    current = (
        Message.objects.select_for_update()
        .filter(pk=message.pk)
        .values("state", "contributor_ids")
        .first()
    )
    if current is None or current["state"] != State.DRAFT:
        raise Conflict(f"message {message.pk} is no longer a draft")
    ids = list(current["contributor_ids"] or [])
    if by.pk not in ids:
        ids.append(by.pk)
        Message.objects.filter(pk=message.pk).update(contributor_ids=ids)
    message.contributor_ids = ids


def add_image(message: Message, *, by, upload, alt_text: str) -> MessageImage:
    """Attach an image: verified to be one, re-encoded without EXIF/GPS metadata.

    Raises Conflict when the message is no longer a draft. The stored file is removed again
    when the transaction does not commit.
    """
    from .images import clean_image

    if not access.can_edit(by, message):
        raise PermissionDenied("message.edit")
    alt_text = (alt_text or "").strip()
    if not alt_text:
        raise ValidationError({"alt_text": [_("Describe the image for people who cannot see it.")]})
    if len(alt_text) > 300:
        raise ValidationError({"alt_text": [_("Keep the description under 300 characters.")]})
    data, ext = clean_image(upload)
    image = MessageImage(message=message, alt_text=alt_text)
    try:
        with transaction.atomic():
            _lock_draft_for_images(message, by=by)
            image.sha256 = hashlib.sha256(data).hexdigest()
            # Named: Django 6.1 reads the dimensions from the assigned content, which needs a name.
            image.file.save(f"upload.{ext}", ContentFile(data, name=f"upload.{ext}"), save=False)
            image.save()
            audit.record(
                actor=by, action="message.add_image", obj=message, data={"image": image.pk}
            )
    except BaseException:
        if image.file.name:
            image.file.storage.delete(image.file.name)  # no file without its row
        raise
    return image


def set_video(message: Message, *, by, upload, caption: str) -> Message:
    """Attach (or replace) the message's video: MP4 or WebM, checked by its header and size
    (``newsroom.videos``), with a description for people who cannot see or hear it.

    Drafts only (Conflict otherwise); whoever sets it becomes a contributor (four eyes). The
    new file is removed again if the transaction does not commit; a replaced file only once it
    has committed.
    """
    import uuid

    from .videos import clean_video

    if not access.can_edit(by, message):
        raise PermissionDenied("message.edit")
    caption = (caption or "").strip()
    if not caption:
        raise ValidationError(
            {"caption": [_("Describe the video for people who cannot see or hear it.")]}
        )
    if len(caption) > 2000:
        raise ValidationError({"caption": [_("Keep the description under 2000 characters.")]})
    ext = clean_video(upload)
    field = message.video
    storage, old = field.storage, field.name
    saved = ""
    try:
        with transaction.atomic():
            _lock_draft_for_images(message, by=by)
            saved = storage.save(f"videos/{uuid.uuid4().hex}.{ext}", upload)
            Message.objects.filter(pk=message.pk).update(video=saved, video_caption=caption)
            message.video.name, message.video_caption = saved, caption
            audit.record(
                actor=by, action="message.set_video", obj=message, data={"replaced": bool(old)}
            )
            if old:
                transaction.on_commit(lambda: storage.delete(old))
    except BaseException:
        if saved:
            storage.delete(saved)  # no file without its row
        message.video.name = old
        raise
    return message


def remove_video(message: Message, *, by) -> None:
    """Detach the video; the file is deleted only once the removal has committed."""
    if not access.can_edit(by, message):
        raise PermissionDenied("message.edit")
    storage, name = message.video.storage, message.video.name
    if not name:
        return
    with transaction.atomic():
        _lock_draft_for_images(message, by=by)
        Message.objects.filter(pk=message.pk).update(video="", video_caption="")
        audit.record(actor=by, action="message.remove_video", obj=message)
        transaction.on_commit(lambda: storage.delete(name))
    message.video.name, message.video_caption = "", ""


def remove_image(image: MessageImage, *, by) -> None:
    """Detach an image; the file is deleted only once the removal has committed."""
    message = image.message
    if not access.can_edit(by, message):
        raise PermissionDenied("message.edit")
    storage, name = image.file.storage, image.file.name
    with transaction.atomic():
        _lock_draft_for_images(message, by=by)
        audit.record(actor=by, action="message.remove_image", obj=message, data={"image": image.pk})
        image.delete()
        # A rolled-back removal must still find its file: delete it only after the commit.
        transaction.on_commit(lambda: storage.delete(name) if name else None)


def findings_for(message: Message):
    return guidelines.check(guidelines.Content.from_message(message))


def _lock(message: Message) -> Mapping[str, Any]:
    """Lock the message's row for this transaction and return what it holds now.

    Used to tell a repeated click (the row already shows the result: idempotent) from a real
    conflict (someone else changed it: ``workflow.apply`` raises Conflict).
    """
    current = (
        Message.objects.select_for_update()
        .filter(pk=message.pk)
        .values("state", "version", "approved_by_id", "contributor_ids")
        .first()
    )
    if current is None:
        raise Conflict(f"message {message.pk} no longer exists")
    return current


def _check_guidelines(
    message: Message, *, by, override_reason: str, action: str, findings: list | None = None
) -> list:
    """Findings for ``message`` (or the given ``findings`` of text about to replace its own);
    blocking ones stop ``action`` unless an editor overrides them.

    Raises GuidelineBlocked (no reason given) or PermissionDenied (a reason, but the user may
    not override). An override is audited with its reason, in the caller's transaction.
    """
    if findings is None:
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
        current = _lock(message)
        if current["state"] == State.SUBMITTED:
            message.refresh_from_db()
            return findings_for(message)  # a double submit changes nothing
        # Contributors as stored now: adding an image does not bump the version.
        message.contributor_ids = current["contributor_ids"]
        if message.state != State.DRAFT:
            raise InvalidTransition("submit", message.state)
        gates.check(message, "submit")
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
            # Sending someone else's draft out for review is a decision about it: whoever does
            # so (and may have overridden its findings) cannot also be the one who approves it.
            contributor_ids=_with_contributor(message, by),
        )
    return findings


def _with_contributor(message: Message, by) -> list[int]:
    ids = list(message.contributor_ids or [])
    return ids if by.pk in ids else [*ids, by.pk]


def withdraw_message(message: Message, *, by) -> None:
    """Take a submitted, or approved but not yet scheduled, message back to draft.

    Withdrawing an approved message drops its approval: it must be reviewed again.
    """
    access.require(by, message, "withdraw")
    if message.state == State.APPROVED:
        apply(message, "withdraw", by=by, approved_by=None)
    else:
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
            State.APPROVED,
            State.SCHEDULED,
            *PUBLIC_STATES,
        ):
            message.refresh_from_db()
            return message  # the same editor clicking twice: nothing more happens
        gates.check(message, "approve")
        now = timezone.now()
        _refuse_if_ended(
            message,
            when if when and when > now else now,
            field="publish_at" if publish_at else "expires_at",
        )
        apply(message, "approve", by=by, approved_by=by)
        if when and when > now:
            apply(
                message, "schedule", by=by, publish_at=when, data={"publish_at": when.isoformat()}
            )
        else:
            _publish(message, by=by)
    return message


def schedule_message(message: Message, *, by, publish_at) -> None:
    access.require(by, message, "schedule")
    if publish_at is None or publish_at <= timezone.now():
        raise ValidationError({"publish_at": [_("Choose a moment in the future.")]})
    _refuse_if_ended(message, publish_at, field="publish_at")
    if message.state == State.SCHEDULED:
        with transaction.atomic():
            apply(message, "unschedule", by=by)
            apply(
                message,
                "schedule",
                by=by,
                publish_at=publish_at,
                data={"publish_at": publish_at.isoformat()},
            )
        return
    apply(
        message,
        "schedule",
        by=by,
        publish_at=publish_at,
        data={"publish_at": publish_at.isoformat()},
    )


def unschedule_message(message: Message, *, by) -> None:
    access.require(by, message, "unschedule")
    apply(message, "unschedule", by=by)


def publish_message(message: Message, *, by) -> None:
    """Publish an approved or scheduled message now (idempotent when already public)."""
    access.require(by, message, "publish")
    if message.state in PUBLIC_STATES:
        return
    _refuse_if_ended(message, timezone.now(), field="expires_at")
    with transaction.atomic():
        _publish(message, by=by)


def _snapshot(message: Message) -> dict:
    return {
        v.language: {"title": v.title, "teaser": v.teaser, "body": v.body}
        for v in message.versions_list()
    }


def _publish(message: Message, *, by, action: str = "publish", **fields) -> None:
    gates.check(message, "publish")
    now = timezone.now()
    apply(message, action, by=by, published_at=now, **fields)
    Revision.objects.create(
        message=message,
        number=message.revisions.count() + 1,
        created_by=getattr(by, "username", str(by)),
        snapshot=_snapshot(message),
    )
    distribution.on_publish(message)


def fast_track_message(
    *,
    by,
    versions: list[VersionInput],
    kind: str,
    approved_by,
    reference: dict,
    area=None,
    channels=None,
) -> Message:
    """Publish text taken from a pre-approved template at once (public order, crisis).

    The caller (``copps.crowd.actions``) checks that ``by`` is a commander allowed to send and
    that the template was approved by ``approved_by``, someone other than its writer: the second
    pair of eyes looked at the words beforehand, the commander only adds live facts. Guideline
    findings that block still block. The message is created, published and planned for its
    channels in one transaction; the audit record names the commander, the template's approver
    and ``reference`` (template, facts, alert).
    """
    if approved_by is None:
        raise PermissionDenied("fast track without an approved template")
    message, _created = create_message(
        by=by, versions=versions, kind=kind, area=area, channels=channels
    )
    with transaction.atomic():
        findings = findings_for(message)
        if any(f.severity == guidelines.BLOCKING for f in findings):
            raise GuidelineBlocked(findings)
        _publish(message, by=by, action="fast_track", approved_by=approved_by, data=reference)
    return message


# Corrections: proposed by one person, approved by another ------------------------------------


def _changed_versions(message: Message, versions: list[VersionInput]) -> dict[str, dict]:
    """``{lang: {title, teaser, body}}`` of the given versions that differ from the message's
    (a language the message does not have yet counts as changed). Stored as written."""
    current = {v.language: v for v in message.versions_list()}
    changed = {}
    for v in versions:
        text = {"title": v.title.strip(), "teaser": v.teaser.strip(), "body": v.body}
        before = current.get(v.language)
        if before is None or text != {
            "title": before.title,
            "teaser": before.teaser,
            "body": before.body,
        }:
            changed[v.language] = text
    return changed


def _content_with(message: Message, changed: dict[str, dict]) -> guidelines.Content:
    """The message as it would read with the ``changed`` versions in place (for the checks)."""
    content = guidelines.Content.from_message(message)
    texts = {v.language: v for v in content.versions}
    for language, text in changed.items():
        texts[language] = guidelines.VersionText(
            language, text["title"], text["teaser"], text["body"]
        )
    content.versions = [texts[lang] for lang in CONTENT_LANGUAGES if lang in texts]
    return content


def propose_correction(
    message: Message, *, by, note: str, versions: list[VersionInput], override_reason: str = ""
) -> Correction:
    """Propose new text for a published (or corrected) message; nothing public changes yet.

    Allowed to whoever may write the message or has MESSAGE_PUBLISH. ``note`` is what readers
    will see once it is approved. Only languages whose text differs are kept; no difference at
    all is a ValidationError. The proposed text passes the guideline checks now: blocking
    findings raise GuidelineBlocked unless an editor overrides them with ``override_reason``.
    A pending proposal for the same message is superseded (audited). Raises InvalidTransition
    when the message is not public, Conflict when it changed since the caller read it.
    """
    if not access.can_propose_correction(by, message):
        raise PermissionDenied("message.correct")
    if message.state not in TRANSITIONS["correct"][0]:
        raise InvalidTransition("correct", message.state)
    if not note.strip():
        raise ValidationError({"note": [_("Say what was corrected; readers will see it.")]})
    _validate_versions(versions)
    try:
        with transaction.atomic():
            current = _lock(message)
            if current["state"] != message.state or current["version"] != message.version:
                raise Conflict(f"message {message.pk} was changed by someone else")
            changed = _changed_versions(message, versions)
            if not changed:
                raise ValidationError(
                    {
                        "versions": [
                            _("The text is the same as the published text: nothing to correct.")
                        ]
                    }
                )
            findings = guidelines.check(_content_with(message, changed))
            _check_guidelines(
                message,
                by=by,
                override_reason=override_reason,
                action="propose_correction",
                findings=findings,
            )
            blocking = sorted({f.code for f in findings if f.severity == guidelines.BLOCKING})
            now = timezone.now()
            replaced = list(
                Correction.objects.filter(
                    message=message, state=CorrectionState.PENDING
                ).values_list("pk", flat=True)
            )
            if replaced:
                Correction.objects.filter(pk__in=replaced, state=CorrectionState.PENDING).update(
                    state=CorrectionState.SUPERSEDED,
                    decided_by=by,
                    decided_at=now,
                    decision_reason=_("Replaced by a newer proposal."),
                )
            correction = Correction.objects.create(
                message=message,
                proposed_by=by,
                proposed_at=now,
                note=note.strip(),
                versions=changed,
                override_reason=override_reason.strip() if blocking else "",
            )
            for old in replaced:
                audit.record(
                    actor=by,
                    action="message.supersede_correction",
                    obj=message,
                    data={"correction": old, "superseded_by": correction.pk},
                )
            data = {
                "correction": correction.pk,
                "languages": sorted(changed),
                "findings": sorted({f.code for f in findings}),
            }
            if replaced:
                data["supersedes"] = replaced
            if blocking:
                data["overridden"] = blocking
            audit.record(
                actor=by,
                action="message.propose_correction",
                obj=message,
                reason=note.strip(),
                data=data,
            )
    except IntegrityError:
        # Another proposal for this message was stored at the same moment.
        raise Conflict(f"message {message.pk} got another correction at the same time") from None
    return correction


def findings_for_correction(correction: Correction) -> list:
    """Guideline findings of the message as it would read with ``correction`` applied."""
    return guidelines.check(_content_with(correction.message, correction.versions))


def _correction_refusal(by, correction: Correction) -> PermissionDenied:
    if access.is_proposer(by, correction) and access.has_capability(
        by, access.roles.MESSAGE_REVIEW
    ):
        return SelfApproval(_("You cannot review a correction you proposed: another editor must."))
    return PermissionDenied("correction.review")


def _lock_correction(correction: Correction) -> Mapping[str, Any]:
    current = (
        Correction.objects.select_for_update()
        .filter(pk=correction.pk)
        .values("state", "decided_by_id")
        .first()
    )
    if current is None:
        raise Conflict(f"correction {correction.pk} no longer exists")
    return current


def _close(correction: Correction, *, by, state: str, reason: str = "") -> None:
    """Move a pending correction to ``state``; of two people deciding at once one gets Conflict."""
    now = timezone.now()
    updated = Correction.objects.filter(pk=correction.pk, state=CorrectionState.PENDING).update(
        state=state, decided_by=by, decided_at=now, decision_reason=reason
    )
    if updated != 1:
        raise Conflict(f"correction {correction.pk} was decided by someone else")
    correction.state, correction.decided_by, correction.decided_at = state, by, now
    correction.decision_reason = reason


def approve_correction(correction: Correction, *, by) -> Correction:
    """Publish a pending correction: its text replaces the message's, the message moves through
    workflow ``correct`` (corrected_at, correction_note, a Revision), all in one transaction.

    Four eyes: the proposer is refused (SelfApproval); other users need MESSAGE_REVIEW. The same
    reviewer approving twice changes nothing; a correction already decided otherwise raises
    CorrectionClosed (a Conflict); a message no longer public raises InvalidTransition.
    """
    if not access.can_decide_correction(by, correction):
        raise _correction_refusal(by, correction)
    with transaction.atomic():
        current = _lock_correction(correction)
        if current["state"] == CorrectionState.APPROVED and current["decided_by_id"] == by.pk:
            correction.refresh_from_db()
            return correction  # the same reviewer clicking twice
        if current["state"] != CorrectionState.PENDING:
            raise CorrectionClosed(correction.pk, current["state"])
        message = Message.objects.select_for_update().get(pk=correction.message_id)
        if message.state not in TRANSITIONS["correct"][0]:
            raise InvalidTransition("correct", message.state)
        _close(correction, by=by, state=CorrectionState.APPROVED)
        now = correction.decided_at
        _write_versions(
            message,
            [
                VersionInput(lang, text["title"], text["body"], text.get("teaser", ""))
                for lang, text in correction.versions.items()
            ],
            replace=False,
        )
        audit.record(
            actor=by,
            action="message.approve_correction",
            obj=message,
            data={
                "correction": correction.pk,
                "proposed_by": correction.proposed_by.username,
                "languages": correction.languages,
            },
        )
        apply(
            message,
            "correct",
            by=by,
            reason=correction.note,
            corrected_at=now,
            correction_note=correction.note,
            data={"correction": correction.pk, "languages": correction.languages},
        )
        revision = Revision.objects.create(
            message=message,
            number=message.revisions.count() + 1,
            created_by=by.username,
            note=correction.note,
            snapshot=_snapshot(message),
        )
        distribution.on_correct(
            message, languages=correction.languages, revision=revision.number, note=correction.note
        )
    # The caller's copy of the message (cached on the correction) now shows the new state.
    correction.message.refresh_from_db()
    return correction


def reject_correction(correction: Correction, *, by, reason: str) -> Correction:
    """Turn a pending correction down with a reason (for the proposer); nothing public changes.

    Same four-eyes rule as approving: reviewers only, never the proposer.
    """
    if not access.can_decide_correction(by, correction):
        raise _correction_refusal(by, correction)
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why, so the proposer can fix it.")]})
    with transaction.atomic():
        current = _lock_correction(correction)
        if current["state"] != CorrectionState.PENDING:
            raise CorrectionClosed(correction.pk, current["state"])
        _close(correction, by=by, state=CorrectionState.REJECTED, reason=reason.strip())
        audit.record(
            actor=by,
            action="message.reject_correction",
            obj=correction.message,
            reason=reason.strip(),
            data={"correction": correction.pk, "proposed_by": correction.proposed_by.username},
        )
    return correction


def correct_message(
    message: Message, *, by, note: str, versions: list[VersionInput], override_reason: str = ""
) -> Correction:
    """Kept for callers of the old name: proposes a correction (``propose_correction``).

    It no longer changes the published text; another reviewer must ``approve_correction``.
    """
    return propose_correction(
        message, by=by, note=note, versions=versions, override_reason=override_reason
    )


def retract_message(message: Message, *, by, reason: str) -> None:
    """Take a published message down; its page keeps a short notice that it was withdrawn."""
    access.require(by, message, "retract")
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the message is withdrawn.")]})
    with transaction.atomic():
        apply(
            message,
            "retract",
            by=by,
            reason=reason,
            retracted_at=timezone.now(),
            retraction_note=reason.strip(),
        )
        distribution.on_retract(message, by=by.username, reason=reason.strip())


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
    A message that fails for any other reason is logged and left scheduled for the next round;
    it never keeps the others from going out.
    """
    now = now or timezone.now()
    done = 0
    due = (
        Message.objects.filter(state=State.SCHEDULED, publish_at__lte=now)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("publish_at", "pk")
    )
    for message in due:
        try:
            with transaction.atomic():
                _publish(message, by="worker")
            done += 1
        except (Conflict, InvalidTransition):
            pass  # someone else (another worker, an editor) got there first
        except Exception:
            logger.exception("publishing scheduled message %s failed", message.pk)
    return done


def expire_due(now=None) -> int:
    """Expire every public or still scheduled message whose end has passed (idempotent).

    Like ``publish_due``, one failing message is logged and does not stop the rest.
    """
    now = now or timezone.now()
    done = 0
    sources = TRANSITIONS["expire"][0]
    for message in Message.objects.filter(state__in=sources, expires_at__lte=now):
        try:
            apply(message, "expire", by="worker")
            done += 1
        except (Conflict, InvalidTransition):
            pass
        except Exception:
            logger.exception("expiring message %s failed", message.pk)
    return done
