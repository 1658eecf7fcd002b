"""Staff console views for messages: list, editor, live checks, detail + workflow, review queue,
word lists.

Plain functions + decorators. Access goes through ``copps.newsroom.access`` (per message) and
``copps.accounts.roles`` (capabilities); writes go through ``copps.newsroom.actions``. Answers:
404 when the message is not visible, 403 when visible but not allowed, 405 wrong method, 409 when
someone else acted first, 422 when blocking guideline findings stop a submission, 400 with field
errors on bad input. Every page works without JavaScript; htmx only refreshes the live check.
"""

from functools import wraps

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from copps.accounts import roles
from copps.accounts.roles import has_capability
from copps.audit import log as audit_log

from . import access, actions, guidelines, renditions
from .actions import Conflict, CorrectionClosed, GuidelineBlocked, InvalidTransition, SelfApproval
from .forms import (
    ACTION_FORMS,
    CorrectForm,
    ImageForm,
    MessageEditor,
    RejectCorrectionForm,
    VideoForm,
    WordListsForm,
    action_form,
    apply_errors,
)
from .models import Correction, CorrectionState, Kind, Message, MessageImage, WordList
from .workflow import PUBLIC_STATES, State

# Pages -----------------------------------------------------------------------------------------


def error_page(request, status: int, heading: str, explanation: str | Promise, **extra):
    """The console's 403/409 page: says plainly what happened and what to do next."""
    context = {"heading": heading, "explanation": explanation, **extra}
    return render(request, "console/error.html", context, status=status)


def forbidden(request, explanation: str | Promise = ""):
    return error_page(
        request,
        403,
        _("Not allowed"),
        explanation or _("Your role does not allow this. Ask an editor or an administrator."),
    )


def console_view(view):
    """Signed in (else to the login page) and allowed into the console (else 403)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_capability(request.user, roles.VIEW_CONSOLE):
            return forbidden(request, _("Your account has no access to the staff console."))
        return view(request, *args, **kwargs)

    return wrapper


def requires(capability: str, explanation: str | Promise = ""):
    """403 unless the user's role has ``capability``."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not has_capability(request.user, capability):
                return forbidden(request, explanation)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _conflict(request, message, explanation: str = ""):
    return error_page(
        request,
        409,
        _("Someone else acted first"),
        explanation
        or _(
            "This message was changed by someone else while you were looking at it. "
            "Open it again to see its current state, then decide."
        ),
        back_url=reverse("console:message-detail", args=[message.pk]),
    )


def _blocked(request, message, findings):
    """422: blocking findings stop the submission; overriders get the reason field here."""
    form = action_form("submit", message)
    return render(
        request,
        "newsroom/blocked.html",
        {
            "message": message,
            "findings": findings,
            "form": form,
            "may_override": has_capability(request.user, roles.MESSAGE_OVERRIDE),
            "may_edit": access.can_edit(request.user, message),
        },
        status=422,
    )


# List ------------------------------------------------------------------------------------------


@console_view
@require_safe
@requires(roles.MESSAGE_VIEW)
def message_list(request):
    qs = access.visible_messages(
        request.user, Message.objects.select_related("author").prefetch_related("versions")
    )
    state = request.GET.get("state", "")
    if state not in State.values:
        state = ""
    kind = request.GET.get("kind", "")
    if kind not in Kind.values:
        kind = ""
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    page = Paginator(qs.order_by("-updated_at", "-pk"), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "newsroom/message_list.html",
        {
            "page": page,
            "state": state,
            "kind": kind,
            "states": State.choices,
            "kinds": Kind.choices,
        },
    )


# Editor ----------------------------------------------------------------------------------------


def _editor_page(
    request, editor: MessageEditor, *, status=200, image_form=None, content=None, video_form=None
):
    message = editor.message
    live = None
    if content is not None:
        live = _live_context(content)
    elif message is not None and not editor.is_bound:
        live = _live_context(guidelines.Content.from_message(message), saved=True)
    return render(
        request,
        "newsroom/message_form.html",
        {
            "editor": editor,
            "form": editor.form,
            "message": message,
            "image_form": image_form or ImageForm(),
            "video_form": video_form or VideoForm(),
            "images": list(message.images.all()) if message is not None else [],
            "live": live,
            "officer_area": request.user.area if "area" not in editor.form.fields else None,
            "check_url": reverse("console:message-check-existing", args=[message.pk])
            if message is not None
            else reverse("console:message-check"),
        },
        status=status,
    )


@console_view
@require_http_methods(["GET", "HEAD", "POST"])
@requires(roles.MESSAGE_CREATE, gettext_lazy("Your role cannot write messages."))
def message_new(request):
    if request.method != "POST":
        return _editor_page(request, MessageEditor(request.user))
    editor = MessageEditor(request.user, request.POST)
    if "_check" in request.POST:
        # Without JavaScript: "Check" re-renders the editor with findings, saving nothing.
        editor.is_valid()
        return _editor_page(request, editor, content=editor.content())
    if not editor.is_valid():
        return _editor_page(request, editor, status=400, content=editor.content())
    try:
        message, created = actions.create_message(
            by=request.user,
            versions=editor.version_inputs(),
            client_key=editor.form.cleaned_data["client_key"] or None,
            **editor.fields(),
        )
    except PermissionDenied:
        return forbidden(
            request,
            _("You may only write messages for your own area.")
            if request.user.role == roles.Role.OFFICER
            else "",
        )
    except ValidationError as error:
        editor.apply_errors(error)
        return _editor_page(request, editor, status=400, content=editor.content())
    if created:
        flash.success(request, _("Draft saved."))
    return redirect("console:message-detail", message.pk)


def _editable(request, message):
    """None when ``request.user`` may edit ``message`` now; else the 403/409 page to answer."""
    if not access.may_write(request.user, message):
        return forbidden(request, _("You may not edit this message."))
    if not access.can_edit(request.user, message):
        return _conflict(
            request,
            message,
            _("Only drafts can be edited, and this message is now “%(state)s”.")
            % {"state": message.get_state_display()},
        )
    return None


@console_view
@require_http_methods(["GET", "HEAD", "POST"])
def message_edit(request, pk):
    message = access.get_message_for(request.user, pk)
    refusal = _editable(request, message)
    if refusal is not None:
        return refusal
    if request.method != "POST":
        return _editor_page(request, MessageEditor(request.user, message=message))
    editor = MessageEditor(request.user, request.POST, message=message)
    if "_check" in request.POST:
        editor.is_valid()
        return _editor_page(request, editor, content=editor.content())
    if not editor.is_valid():
        return _editor_page(request, editor, status=400, content=editor.content())
    seen = editor.form.cleaned_data.get("version")
    if seen:
        message.version = seen
    try:
        actions.update_message(
            message,
            by=request.user,
            versions=editor.version_inputs(),
            replace_versions=True,
            **editor.fields(),
        )
    except Conflict:
        return _conflict(request, message)
    except PermissionDenied:
        return forbidden(request, _("You may only write messages for your own area."))
    except ValidationError as error:
        editor.apply_errors(error)
        return _editor_page(request, editor, status=400, content=editor.content())
    flash.success(request, _("Changes saved."))
    return redirect("console:message-detail", message.pk)


# Live check (htmx) -----------------------------------------------------------------------------


def preview_renditions(content: guidelines.Content) -> list[renditions.Rendition]:
    """Each selected channel's rendition of each typed language version (not saved), with the
    same links the length check measures (``guidelines.length.link_for``)."""
    from .guidelines.length import link_for
    from .markup import markdown_to_text

    channels = [c for c in renditions.CHANNELS if c in content.channels] or ["web"]
    result = []
    for version in content.versions:
        if not version.title.strip() and not version.body.strip():
            continue
        body_text = markdown_to_text(version.body)
        for channel in channels:
            result.append(
                renditions.render_text(
                    channel,
                    language=version.language,
                    title=version.title.strip(),
                    summary=version.teaser.strip() or body_text,
                    full_text=body_text,
                    link=link_for(content, version, channel),
                    signature=content.signature.strip() if content.is_personal else "",
                )
            )
    return result


def group_renditions(items: list[renditions.Rendition]) -> list[dict]:
    """Renditions with the same text in the same language shown once, their channels named
    together (the website, feeds and e-mail carry the same full text). Only channels without a
    limit are merged: each limited channel keeps its own count (X weighs an emoji 2, SMS counts
    segments), even when its text is the same as the website's."""
    groups: dict[tuple[str, str, str], dict] = {}
    for r in items:
        key = (r.language, r.text, "" if r.limit is None else r.channel)
        if key in groups:
            groups[key]["labels"].append(r.label)
        else:
            groups[key] = {"r": r, "labels": [r.label]}
    return [
        {"r": g["r"], "label": ", ".join(str(label) for label in g["labels"])}
        for g in groups.values()
    ]


def _live_context(content: guidelines.Content, *, saved=False) -> dict:
    findings = guidelines.check(content)
    previews = preview_renditions(content)
    return {
        "findings": findings,
        "renditions": previews,
        "rendition_groups": group_renditions(previews),
        "blocking": guidelines.has_blocking(findings),
        "saved": saved,
        "empty": not content.versions,
    }


@console_view
@require_POST
def message_check(request, pk=None):
    """The live check partial: findings and rendition previews of the text as typed (unsaved)."""
    message = None
    if pk is not None:
        message = access.get_message_for(request.user, pk)
        if not access.may_write(request.user, message):
            return forbidden(request, _("You may not edit this message."))
    elif not has_capability(request.user, roles.MESSAGE_CREATE):
        return forbidden(request, _("Your role cannot write messages."))
    editor = MessageEditor(request.user, request.POST, message=message)
    editor.is_valid()
    return render(request, "newsroom/_live_check.html", {"live": _live_context(editor.content())})


# Images ----------------------------------------------------------------------------------------


@console_view
@require_POST
def image_add(request, pk):
    message = access.get_message_for(request.user, pk)
    refusal = _editable(request, message)
    if refusal is not None:
        return refusal
    form = ImageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            actions.add_image(
                message,
                by=request.user,
                upload=form.cleaned_data["image"],
                alt_text=form.cleaned_data["alt_text"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        except Conflict:
            return _conflict(request, message)
        else:
            flash.success(request, _("Image added."))
            return redirect(reverse("console:message-edit", args=[message.pk]) + "#images")
    return _editor_page(
        request, MessageEditor(request.user, message=message), status=400, image_form=form
    )


@console_view
@require_POST
def image_remove(request, pk, image_pk):
    message = access.get_message_for(request.user, pk)
    refusal = _editable(request, message)
    if refusal is not None:
        return refusal
    image = MessageImage.objects.filter(pk=image_pk, message=message).first()
    if image is None:
        raise Http404
    try:
        actions.remove_image(image, by=request.user)
    except Conflict:
        return _conflict(request, message)
    flash.success(request, _("Image removed."))
    return redirect(reverse("console:message-edit", args=[message.pk]) + "#images")


# Video -----------------------------------------------------------------------------------------


@console_view
@require_POST
def video_set(request, pk):
    message = access.get_message_for(request.user, pk)
    refusal = _editable(request, message)
    if refusal is not None:
        return refusal
    form = VideoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            actions.set_video(
                message,
                by=request.user,
                upload=form.cleaned_data["video"],
                caption=form.cleaned_data["caption"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        except Conflict:
            return _conflict(request, message)
        else:
            flash.success(request, _("Video saved."))
            return redirect(reverse("console:message-edit", args=[message.pk]) + "#video")
    return _editor_page(
        request, MessageEditor(request.user, message=message), status=400, video_form=form
    )


@console_view
@require_POST
def video_remove(request, pk):
    message = access.get_message_for(request.user, pk)
    refusal = _editable(request, message)
    if refusal is not None:
        return refusal
    try:
        actions.remove_video(message, by=request.user)
    except Conflict:
        return _conflict(request, message)
    flash.success(request, _("Video removed."))
    return redirect(reverse("console:message-edit", args=[message.pk]) + "#video")


# Detail + workflow -----------------------------------------------------------------------------


ACTION_LABELS = {
    "submit": gettext_lazy("Submit for review"),
    "withdraw": gettext_lazy("Take back to draft"),
    "approve": gettext_lazy("Approve"),
    "reject": gettext_lazy("Send back to the author"),
    "schedule": gettext_lazy("Schedule"),
    "unschedule": gettext_lazy("Cancel the schedule"),
    "publish": gettext_lazy("Publish now"),
    "correct": gettext_lazy("Propose a correction"),
    "retract": gettext_lazy("Retract"),
}
# The order of the buttons: the usual next step first, the undoing ones last.
ACTION_ORDER = [
    "submit",
    "approve",
    "publish",
    "schedule",
    "correct",
    "reject",
    "unschedule",
    "withdraw",
    "retract",
]
AUDIT_LABELS = {
    "message.create": gettext_lazy("created the draft"),
    "message.edit": gettext_lazy("edited"),
    "message.add_image": gettext_lazy("added an image"),
    "message.remove_image": gettext_lazy("removed an image"),
    "message.set_video": gettext_lazy("attached a video"),
    "message.remove_video": gettext_lazy("removed the video"),
    "message.override_guidelines": gettext_lazy("overrode blocking findings"),
    "message.submit": gettext_lazy("submitted for review"),
    "message.withdraw": gettext_lazy("took back to draft"),
    "message.approve": gettext_lazy("approved"),
    "message.reject": gettext_lazy("sent back"),
    "message.schedule": gettext_lazy("scheduled"),
    "message.unschedule": gettext_lazy("cancelled the schedule"),
    "message.publish": gettext_lazy("published"),
    "message.correct": gettext_lazy("published a correction"),
    "message.propose_correction": gettext_lazy("proposed a correction"),
    "message.supersede_correction": gettext_lazy("replaced a pending correction"),
    "message.approve_correction": gettext_lazy("approved a correction"),
    "message.reject_correction": gettext_lazy("rejected a correction"),
    "message.retract": gettext_lazy("retracted"),
    "message.expire": gettext_lazy("expired"),
}


def _detail_context(request, message, bound: dict | None = None) -> dict:
    user = request.user
    allowed = access.allowed_actions(user, message)
    bound = bound or {}
    forms_by_action = {a: bound.get(a) or action_form(a, message) for a in allowed}
    action_items = [
        {"name": a, "label": ACTION_LABELS[a], "form": forms_by_action[a], "open": a in bound}
        for a in sorted(allowed, key=ACTION_ORDER.index)
    ]
    findings = actions.findings_for(message)
    records = list(audit_log.for_object(message).order_by("seq"))
    state_names = dict(State.choices)
    for rec in records:
        rec.from_label = state_names.get(rec.from_state, rec.from_state)
        rec.to_label = state_names.get(rec.to_state, rec.to_state)
        rec.label = AUDIT_LABELS.get(rec.action, rec.action)
    versions = message.versions_list()
    rendered = renditions.render_all(message) if versions else []
    return {
        **_correction_context(user, message, bound),
        "message": message,
        "versions": versions,
        "images": list(message.images.all()),
        "findings": findings,
        "blocking": guidelines.has_blocking(findings),
        "renditions": rendered,
        "rendition_groups": group_renditions(rendered),
        "actions": allowed,
        "action_items": action_items,
        "can_edit": access.can_edit(user, message),
        "may_override": has_capability(user, roles.MESSAGE_OVERRIDE),
        "is_contributor": access.is_contributor(user, message),
        "may_review": has_capability(user, roles.MESSAGE_REVIEW),
        "audit": records,
        "channel_labels": [
            str(spec.label)
            for key, spec in renditions.CHANNELS.items()
            if key in (message.channels or [])
        ],
    }


def _correction_context(user, message, bound: dict) -> dict:
    """The pending correction of ``message`` (if any) with its diff, findings and buttons."""
    pending = (
        message.corrections.filter(state=CorrectionState.PENDING)
        .select_related("proposed_by")
        .first()
    )
    if pending is None:
        latest = message.corrections.select_related("decided_by").first()
        rejected = latest if latest and latest.state == CorrectionState.REJECTED else None
        return {"pending_correction": None, "last_rejected_correction": rejected}
    pending.message = message  # the page's copy, with its versions already fetched
    findings = actions.findings_for_correction(pending)
    return {
        "pending_correction": pending,
        "correction_changes": pending.changes(),
        "correction_findings": findings,
        "correction_blocking": guidelines.has_blocking(findings),
        "may_decide_correction": access.can_decide_correction(user, pending),
        # A retracted or expired message can no longer be corrected; the proposal can be rejected.
        "may_approve_correction": message.state in PUBLIC_STATES,
        "is_correction_proposer": access.is_proposer(user, pending),
        "reject_correction_form": bound.get("reject-correction") or RejectCorrectionForm(),
    }


def _detail_queryset():
    """The message page reads versions, images and audiences many times: fetch them once."""
    return Message.objects.select_related("author", "area", "approved_by").prefetch_related(
        "versions", "images", "audiences"
    )


@console_view
@require_safe
def message_detail(request, pk):
    message = access.get_message_for(request.user, pk, _detail_queryset())
    return render(request, "newsroom/message_detail.html", _detail_context(request, message))


REFUSALS = {
    "approve": gettext_lazy("You cannot approve your own message: another editor must."),
    "reject": gettext_lazy("You cannot reject your own message: another editor must."),
}
DONE = {
    "submit": gettext_lazy("Submitted for review."),
    "withdraw": gettext_lazy("Withdrawn: the message is a draft again."),
    "approve": gettext_lazy("Approved."),
    "reject": gettext_lazy("Rejected: the author sees your reason on the draft."),
    "schedule": gettext_lazy("Scheduled."),
    "unschedule": gettext_lazy("No longer scheduled."),
    "publish": gettext_lazy("Published."),
    "correct": gettext_lazy("Correction proposed: it goes public once another editor approves it."),
    "retract": gettext_lazy("Retracted."),
}


def _run(action: str, message, user, data: dict):
    """Call the named action for ``action`` with the cleaned form ``data``."""
    if action == "submit":
        return actions.submit_message(message, by=user, override_reason=data["override_reason"])
    if action == "withdraw":
        return actions.withdraw_message(message, by=user)
    if action == "approve":
        return actions.approve_message(message, by=user, publish_at=data.get("publish_at"))
    if action == "reject":
        return actions.reject_message(message, by=user, reason=data["reason"])
    if action == "schedule":
        return actions.schedule_message(message, by=user, publish_at=data["publish_at"])
    if action == "unschedule":
        return actions.unschedule_message(message, by=user)
    if action == "publish":
        return actions.publish_message(message, by=user)
    if action == "retract":
        return actions.retract_message(message, by=user, reason=data["reason"])
    raise ValueError(action)


@console_view
@require_POST
def message_action(request, pk, action):
    """One workflow button: validate its small form, run the action, map errors to answers."""
    message = access.get_message_for(
        request.user, pk, Message.objects.select_related("author", "area", "approved_by")
    )
    if action not in ACTION_FORMS:
        raise Http404
    user = request.user
    if not access.can(user, message, action):
        if (
            action in REFUSALS
            and access.is_contributor(user, message)
            and has_capability(user, roles.MESSAGE_REVIEW)
        ):
            return forbidden(request, str(REFUSALS[action]))
        return forbidden(request)
    form = action_form(action, message, request.POST)
    if not form.is_valid():
        return _detail_error(request, message, action, form)
    seen = form.cleaned_data.get("version")
    if seen:
        message.version = seen
    try:
        if action == "correct":
            assert isinstance(form, CorrectForm)  # ACTION_FORMS["correct"]; narrows for the checker
            actions.propose_correction(
                message,
                by=user,
                note=form.cleaned_data["note"],
                versions=form.version_inputs(),
                override_reason=form.cleaned_data["override_reason"],
            )
        else:
            _run(action, message, user, form.cleaned_data)
    except SelfApproval:
        return forbidden(request, str(REFUSALS.get(action, REFUSALS["approve"])))
    except GuidelineBlocked as blocked:
        if action == "correct":
            return _correction_blocked(request, message, form, blocked.findings)
        return _blocked(request, message, blocked.findings)
    except PermissionDenied as denied:
        if str(denied) == "message.override":
            return forbidden(request, _("Only editors may override blocking findings."))
        return forbidden(request)
    except (Conflict, InvalidTransition):
        return _conflict(request, message)
    except ValidationError as error:
        apply_errors(form, error)
        return _detail_error(request, message, action, form)
    flash.success(request, DONE[action])
    return redirect("console:message-detail", message.pk)


def _detail_error(request, message, action, form, *, status=400, **extra):
    fresh = _detail_queryset().get(pk=message.pk)
    context = _detail_context(request, fresh, bound={action: form})
    context["failed_action"] = action
    context.update(extra)
    return render(request, "newsroom/message_detail.html", context, status=status)


def _correction_blocked(request, message, form, findings):
    """422: the proposed text has blocking findings; the form stays open with them listed."""
    if has_capability(request.user, roles.MESSAGE_OVERRIDE):
        explanation = _(
            "The corrected text breaks the guidelines. Fix it, or give a reason to override "
            "the blocking findings (recorded in the audit trail)."
        )
        form.add_error("override_reason", explanation)
    else:
        form.add_error(None, _("The corrected text breaks the guidelines. Fix it first."))
    return _detail_error(request, message, "correct", form, status=422, proposed_findings=findings)


# Corrections: approve / reject -----------------------------------------------------------------


CORRECTION_REFUSAL = gettext_lazy(
    "You cannot review a correction you proposed: another editor must."
)


def _correction_closed(request, correction, state: str):
    labels = dict(CorrectionState.choices)
    return _conflict(
        request,
        correction.message,
        _(
            "This correction is no longer waiting for approval (now: “%(state)s”). Open the message "
            "again to see what is public now."
        )
        % {"state": labels.get(state, state)},
    )


def _decidable(request, correction):
    """None when ``request.user`` may decide ``correction``; else the 403 page to answer."""
    if access.can_decide_correction(request.user, correction):
        return None
    if access.is_proposer(request.user, correction) and has_capability(
        request.user, roles.MESSAGE_REVIEW
    ):
        return forbidden(request, str(CORRECTION_REFUSAL))
    return forbidden(request, _("Only editors approve or reject corrections."))


@console_view
@require_POST
def correction_approve(request, pk):
    """Publish a pending correction (reviewers other than its proposer)."""
    correction = access.get_correction_for(request.user, pk)
    refusal = _decidable(request, correction)
    if refusal is not None:
        return refusal
    try:
        actions.approve_correction(correction, by=request.user)
    except SelfApproval:
        return forbidden(request, str(CORRECTION_REFUSAL))
    except CorrectionClosed as closed:
        return _correction_closed(request, correction, closed.state)
    except (Conflict, InvalidTransition):
        return _conflict(request, correction.message)
    flash.success(request, _("Correction approved and published."))
    return redirect("console:message-detail", correction.message_id)


@console_view
@require_POST
def correction_reject(request, pk):
    """Turn a pending correction down with a reason; nothing public changes."""
    correction = access.get_correction_for(request.user, pk)
    refusal = _decidable(request, correction)
    if refusal is not None:
        return refusal
    form = RejectCorrectionForm(request.POST)
    if form.is_valid():
        try:
            actions.reject_correction(
                correction, by=request.user, reason=form.cleaned_data["reason"]
            )
        except SelfApproval:
            return forbidden(request, str(CORRECTION_REFUSAL))
        except CorrectionClosed as closed:
            return _correction_closed(request, correction, closed.state)
        except Conflict:
            return _conflict(request, correction.message)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            flash.success(request, _("Correction rejected: the proposer sees your reason."))
            return redirect("console:message-detail", correction.message_id)
    return _detail_error(request, correction.message, "reject-correction", form)


# Review queue ----------------------------------------------------------------------------------


@console_view
@require_safe
@requires(roles.MESSAGE_REVIEW, gettext_lazy("Only editors review messages."))
def review_queue(request):
    """Submitted messages and proposed corrections this user may review: never their own
    (four eyes)."""
    submitted = (
        Message.objects.filter(state=State.SUBMITTED)
        .select_related("author")
        .prefetch_related("versions", "images")
        .order_by("updated_at", "pk")
    )
    items = []
    with guidelines.pinned_word_lists():  # one read of the word lists for the whole queue
        for message in submitted:
            if not access.can(request.user, message, "approve"):
                continue
            findings = actions.findings_for(message)
            items.append(
                {
                    "message": message,
                    "blocking": sum(f.severity == guidelines.BLOCKING for f in findings),
                    "warnings": sum(f.severity == guidelines.WARNING for f in findings),
                    "infos": sum(f.severity == guidelines.INFO for f in findings),
                }
            )
    return render(
        request,
        "newsroom/review_queue.html",
        {"items": items, "corrections": list(_corrections_to_decide(request.user))},
    )


def _corrections_to_decide(user):
    """Pending corrections of public messages that ``user`` may decide (not their own)."""
    if not has_capability(user, roles.MESSAGE_REVIEW):
        return []
    pending = (
        Correction.objects.filter(state=CorrectionState.PENDING, message__state__in=PUBLIC_STATES)
        .exclude(proposed_by=user)
        .select_related("proposed_by", "message")
        .prefetch_related("message__versions")
        .order_by("proposed_at", "pk")
    )
    return [c for c in pending if access.can_decide_correction(user, c)]


def corrections_queue_size(user) -> int:
    """How many pending corrections wait for ``user``'s decision."""
    return len(_corrections_to_decide(user))


def review_queue_size(user) -> int:
    """Submitted messages ``user`` may review (corrections: ``corrections_queue_size``)."""
    if not has_capability(user, roles.MESSAGE_REVIEW):
        return 0
    return sum(
        1
        for m in Message.objects.filter(state=State.SUBMITTED).only(
            "pk", "author", "contributor_ids"
        )
        if access.can(user, m, "approve")
    )


# Word lists ------------------------------------------------------------------------------------


@console_view
@require_http_methods(["GET", "HEAD", "POST"])
@requires(
    roles.GUIDELINES_MANAGE,
    gettext_lazy("Only communication coaches and administrators keep the word lists."),
)
def word_lists(request):
    lists = {(wl.language, wl.category): wl for wl in WordList.objects.all()}
    form = WordListsForm(request.POST or None, lists=lists)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = 0
                for language, category, terms in form.changed_lists():
                    actions.update_word_list(
                        by=request.user, language=language, category=category, terms=terms
                    )
                    saved += 1
            except ValidationError as error:
                apply_errors(form, error)
                status = 400
            else:
                flash.success(
                    request,
                    _("Word lists saved.") if saved else _("Nothing changed."),
                )
                return redirect("console:guidelines")
        else:
            status = 400
    return render(request, "newsroom/word_lists.html", {"form": form}, status=status)
