"""The inbox console: one queue for what citizens send, a conversation view, alerts and duty.

Access checklist (ARCHITECTURE.md §6): anonymous -> login; a role without any inbox desk -> 403
on the queue, the alerts and duty; a conversation, entry, alert or attachment of a desk the user
is not on (or of any desk, for a role without one) -> 404 (no hint it exists: a communicator never learns a tip exists); moderation without
``INBOX_MODERATE`` -> 403; wrong method -> 405; bad input -> the page again with the errors
(400). Writes go through ``copps.inbox.actions``. Every view of an investigation-desk
conversation and every attachment download is audited (ids only, never content).

Every page works without JavaScript; with htmx the alerts banner refreshes itself.
"""

from __future__ import annotations

import json

from django.contrib import messages as flash
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from copps.accounts.roles import ROLE_CAPABILITIES
from copps.audit import log as audit
from copps.newsroom.forms import apply_errors
from copps.newsroom.views import console_view, forbidden

from . import access, actions
from .console_forms import ModerateForm, NoteForm, ReplyForm, TriageForm
from .models import (
    Alert,
    Attachment,
    Conversation,
    Desk,
    Direction,
    Duty,
    Entry,
    Label,
    Priority,
    SendState,
    Source,
    State,
    Visibility,
)

PER_PAGE = 25
NO_DESK = gettext_lazy("Your role has no inbox desk.")
NO_MODERATION = gettext_lazy("Only communicators, editors and administrators moderate.")


def inbox_view(view):
    """Signed in, in the console, and on at least one inbox desk (else 403)."""

    @console_view
    def wrapper(request, *args, **kwargs):
        if not access.can_use_inbox(request.user):
            return forbidden(request, NO_DESK)
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def object_view(view):
    """Signed in and in the console; the object's desk decides (404 when not the user's desk,
    also for roles without any desk: nobody learns that a tip exists)."""
    return console_view(view)


def conversation_url(conversation: Conversation) -> str:
    return reverse("inbox_console:conversation", args=[conversation.pk])


def desk_staff(desk: str):
    """Active users whose role works on ``desk`` (the people a conversation may go to)."""
    capability = access.DESK_CAPABILITY[Desk(desk)]
    roles = [role for role, caps in ROLE_CAPABILITIES.items() if capability in caps]
    return get_user_model().objects.filter(is_active=True, role__in=roles).order_by("username")


# Alerts and duty -------------------------------------------------------------------------------


def alerts_context(user) -> dict:
    desks = access.desks_for(user)
    alerts = list(
        Alert.objects.filter(desk__in=desks, acknowledged_at__isnull=True).select_related(
            "conversation"
        )[:20]
    )
    on_duty: dict[str, list[str]] = {desk: [] for desk in desks}
    for duty in Duty.objects.filter(desk__in=desks).select_related("user").order_by("since"):
        on_duty[duty.desk].append(str(duty.user))
    for alert in alerts:
        alert.on_duty = on_duty.get(alert.desk, [])  # type: ignore[attr-defined]
    mine = Duty.objects.filter(user=user).first()
    return {
        "alerts": alerts,
        "duty_desks": [
            {
                "value": desk,
                "label": Desk(desk).label,
                "on_duty": on_duty[desk],
                "me": bool(mine and mine.desk == desk),
            }
            for desk in sorted(desks)
        ],
        "alerts_url": reverse("inbox_console:alerts"),
    }


@inbox_view
@require_safe
def alerts(request):
    """The alerts banner as an HTML fragment (htmx polls it; also readable on its own)."""
    return render(request, "inbox/console/_alerts.html", alerts_context(request.user))


@object_view
@require_POST
def alert_acknowledge(request, pk: int):
    alert = (
        Alert.objects.select_related("conversation")
        .filter(pk=pk, desk__in=access.desks_for(request.user))
        .first()
    )
    if alert is None:
        raise Http404
    actions.acknowledge(alert, by=request.user)
    flash.success(request, _("Alert acknowledged."))
    return redirect(_back(request, conversation_url(alert.conversation)))


@inbox_view
@require_POST
def duty_toggle(request):
    """Go on duty for a desk (one desk at a time), or off duty."""
    desk = request.POST.get("desk", "")
    if desk not in access.desks_for(request.user):
        raise Http404
    with transaction.atomic():
        current = Duty.objects.filter(user=request.user).first()
        if current is not None and current.desk == desk:
            current.delete()
            on = False
        else:
            Duty.objects.update_or_create(
                user=request.user, defaults={"desk": desk, "since": timezone.now()}
            )
            on = True
        audit.record(
            actor=request.user,
            action="inbox.duty.on" if on else "inbox.duty.off",
            data={"desk": desk},
        )
    if on:
        flash.success(request, _("You are on duty for this desk."))
    else:
        flash.success(request, _("You are off duty."))
    return redirect(_back(request, reverse("inbox_console:queue")))


def _back(request, default: str) -> str:
    """A local "next" path from the form, else ``default`` (never an outside address)."""
    target = request.POST.get("next", "")
    if target.startswith("/console/") and "//" not in target and "\\" not in target:
        return target
    return default


# The queue -------------------------------------------------------------------------------------


def _ascii_digits(value) -> bool:
    """0-9 only: str.isdigit() also accepts digits int() refuses ("²")."""
    value = str(value or "")
    return value.isascii() and value.isdigit() and len(value) <= 18


def _filters(request, desks: set[str]) -> dict:
    """The queue's GET filters, each checked against its allowed values (junk is ignored)."""
    get = request.GET
    f = {
        "desk": get.get("desk", "") if get.get("desk", "") in desks else "",
        "source": get.get("source", "") if get.get("source", "") in Source.values else "",
        "status": get.get("status", ""),
        "priority": get.get("priority", ""),
        "assigned": get.get("assigned", "") if get.get("assigned") in ("me", "nobody") else "",
        "label": get.get("label", "") if _ascii_digits(get.get("label", "")) else "",
        "overdue": "1" if get.get("overdue") == "1" else "",
        "q": " ".join(str(get.get("q", "")).replace("\x00", "").split())[:200],
    }
    if f["status"] not in [*State.values, "all"]:
        f["status"] = ""
    if f["priority"] not in [str(p) for p in Priority.values]:
        f["priority"] = ""
    return f


def _queue(user, f: dict):
    qs = access.conversations_for(user)
    if f["desk"]:
        qs = qs.filter(desk=f["desk"])
    if f["source"]:
        qs = qs.filter(source=f["source"])
    if f["status"] == "":
        qs = qs.exclude(state=State.CLOSED)
    elif f["status"] != "all":
        qs = qs.filter(state=f["status"])
    if f["priority"]:
        qs = qs.filter(priority=int(f["priority"]))
    if f["assigned"] == "me":
        qs = qs.filter(assigned_to=user)
    elif f["assigned"] == "nobody":
        qs = qs.filter(assigned_to__isnull=True)
    if f["label"]:
        qs = qs.filter(labels__pk=int(f["label"]))
    if f["overdue"]:
        qs = qs.filter(due_at__lt=timezone.now()).exclude(state=State.CLOSED)
    if f["q"]:
        matching = Entry.objects.filter(text__icontains=f["q"]).values("conversation_id")
        qs = qs.filter(
            Q(subject__icontains=f["q"]) | Q(author__icontains=f["q"]) | Q(pk__in=matching)
        )
    return (
        qs.select_related("assigned_to")
        .prefetch_related("labels")
        .order_by("-priority", "-last_activity_at", "-pk")
        .distinct()
    )


def _first_words(conversations: list[Conversation]) -> None:
    """Each conversation's ``summary``: its subject, else the first words the citizen wrote."""
    first: dict[int, str] = {}
    entries = (
        Entry.objects.filter(conversation__in=[c.pk for c in conversations], direction=Direction.IN)
        .order_by("conversation_id", "pk")
        .values_list("conversation_id", "text")
    )
    for conversation_id, text in entries:
        first.setdefault(conversation_id, text)
    for conversation in conversations:
        text = " ".join(first.get(conversation.pk, "").split())
        short = text if len(text) <= 80 else text[:80].rsplit(" ", 1)[0] + " …"
        conversation.summary = conversation.subject or short  # type: ignore[attr-defined]


@inbox_view
@require_safe
def queue(request):
    desks = access.desks_for(request.user)
    f = _filters(request, desks)
    page = Paginator(_queue(request.user, f), PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    _first_words(rows)
    query = urlencode({k: v for k, v in f.items() if v})
    sources = [(v, label) for v, label in Source.choices if actions.desk_for(v) in desks]
    return render(
        request,
        "inbox/console/queue.html",
        {
            "page": page,
            "rows": rows,
            "f": f,
            "query": query,
            "desks": [(d, Desk(d).label) for d in sorted(desks)],
            "sources": sources,
            "states": State.choices,
            "priorities": Priority.choices,
            "labels": Label.objects.filter(desk__in=desks),
            "now": timezone.now(),
            "section": "inbox",
            **alerts_context(request.user),
        },
    )


# One conversation ------------------------------------------------------------------------------


def _tip_of(conversation: Conversation):
    if conversation.desk != Desk.INVESTIGATION:
        return None
    from copps.investigations.models import Tip

    return Tip.objects.select_related("notice").filter(conversation=conversation).first()


def _gps(block: dict) -> str:
    """Decimal latitude, longitude from an EXIF GPS block, or '' when incomplete."""
    try:
        values = []
        for key, ref_key, negative in (
            ("GPSLatitude", "GPSLatitudeRef", "S"),
            ("GPSLongitude", "GPSLongitudeRef", "W"),
        ):
            d, m, sec = (float(x) for x in block[key])
            value = d + m / 60 + sec / 3600
            if str(block.get(ref_key, "")).upper().startswith(negative):
                value = -value
            values.append(f"{value:.6f}")
        return ", ".join(values)
    except (KeyError, TypeError, ValueError):
        return ""


def exif_summary(exif: dict) -> list[tuple[str, str]]:
    """The EXIF facts investigators look at first: when, which camera, where."""
    exif = exif if isinstance(exif, dict) else {}
    inner: dict = exif["Exif"] if isinstance(exif.get("Exif"), dict) else {}
    rows = []
    taken = inner.get("DateTimeOriginal") or exif.get("DateTime")
    if taken:
        rows.append((_("Taken"), str(taken)))
    camera = " ".join(str(exif.get(k, "")).strip() for k in ("Make", "Model")).strip()
    if camera:
        rows.append((_("Camera"), camera))
    if exif.get("Software"):
        rows.append((_("Software"), str(exif["Software"])))
    gps: dict = exif["GPS"] if isinstance(exif.get("GPS"), dict) else {}
    place = _gps(gps)
    if place:
        rows.append((_("Location"), place))
    elif gps:
        rows.append((_("Location"), _("GPS data present (incomplete)")))
    return rows


def _conversation_page(request, conversation: Conversation, status: int = 200, **forms):
    user = request.user
    if conversation.desk == Desk.INVESTIGATION:  # who read which tip or SMS: ids, no content
        with transaction.atomic():
            audit.record(actor=user, action="inbox.view", obj=conversation)
    entries = list(
        conversation.entries.select_related("by", "rule").prefetch_related(
            "attachments", "decisions__rule", "decisions__by"
        )
    )
    moderates = access.can_moderate(user) and conversation.desk == Desk.COMMUNICATION
    for entry in entries:
        for attachment in entry.attachments.all():
            raw = json.dumps(attachment.exif, indent=1, ensure_ascii=False)
            attachment.exif_summary = exif_summary(attachment.exif)  # type: ignore[attr-defined]
            attachment.exif_json = raw  # type: ignore[attr-defined]
        if moderates and entry.direction == Direction.IN:
            form = forms.get(f"moderate_{entry.pk}") or ModerateForm(auto_id=f"mod-{entry.pk}-%s")
            entry.moderate_form = form  # type: ignore[attr-defined]
    staff = desk_staff(conversation.desk)
    tip = _tip_of(conversation)
    context = {
        "conversation": conversation,
        "entries": entries,
        "tip": tip,
        "investigation": conversation.desk == Desk.INVESTIGATION,
        "moderates": moderates,
        "reply_form": forms.get("reply_form") or ReplyForm(tip=tip is not None),
        "note_form": forms.get("note_form") or NoteForm(),
        "triage_form": forms.get("triage_form")
        or TriageForm(
            desk=conversation.desk,
            staff=staff,
            initial={
                "state": conversation.state,
                "priority": conversation.priority,
                "assigned_to": conversation.assigned_to_id,
                "labels": [label.pk for label in conversation.labels.all()],
            },
        ),
        "alerts": list(conversation.alerts.filter(acknowledged_at__isnull=True)),
        "section": "inbox",
        "Visibility": {v.name: v.value for v in Visibility},
        "SendState": {v.name: v.value for v in SendState},
    }
    return render(request, "inbox/console/conversation.html", context, status=status)


@object_view
@require_safe
def conversation(request, pk: int):
    return _conversation_page(request, access.get_conversation_for(request.user, pk))


def _conversation_post(view):
    """POST only, on one of the user's desks (else 404)."""

    @object_view
    @require_POST
    def wrapper(request, pk: int):
        return view(request, access.get_conversation_for(request.user, pk))

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@_conversation_post
def conversation_reply(request, conversation: Conversation):
    form = ReplyForm(request.POST, tip=_tip_of(conversation) is not None)
    if form.is_valid():
        try:
            entry = actions.reply(conversation, by=request.user, text=form.cleaned_data["text"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if entry.send_state == SendState.SENT:
                flash.success(request, _("Reply sent."))
            elif entry.send_state == SendState.UNKNOWN:
                flash.warning(
                    request,
                    _(
                        "The reply may or may not have gone out (%(error)s). Check before sending it again."
                    )
                    % {"error": entry.send_error or _("no answer")},
                )
            else:
                flash.error(
                    request,
                    _("The reply was not sent: %(error)s") % {"error": entry.send_error or "?"},
                )
            return redirect(conversation_url(conversation))
    return _conversation_page(request, conversation, status=400, reply_form=form)


@_conversation_post
def conversation_note(request, conversation: Conversation):
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            actions.add_note(conversation, by=request.user, text=form.cleaned_data["text"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            flash.success(request, _("Note added."))
            return redirect(conversation_url(conversation))
    return _conversation_page(request, conversation, status=400, note_form=form)


@_conversation_post
def conversation_triage(request, conversation: Conversation):
    form = TriageForm(request.POST, desk=conversation.desk, staff=desk_staff(conversation.desk))
    if form.is_valid():
        data = form.cleaned_data
        labels = list(data["labels"])
        with transaction.atomic():
            if data["new_label"]:
                label, _created = Label.objects.get_or_create(
                    desk=conversation.desk, name=data["new_label"]
                )
                labels.append(label)
            try:
                actions.triage(
                    conversation,
                    by=request.user,
                    state=data["state"],
                    priority=data["priority"],
                    assigned_to=data["assigned_to"],
                    labels=labels,
                )
            except ValidationError as error:
                apply_errors(form, error)
                transaction.set_rollback(True)
            else:
                flash.success(request, _("Conversation updated."))
                return redirect(conversation_url(conversation))
    return _conversation_page(request, conversation, status=400, triage_form=form)


@object_view
@require_POST
def entry_moderate(request, pk: int):
    entry = access.get_entry_for(request.user, pk)
    conversation = entry.conversation
    if not access.can_moderate(request.user) or conversation.desk != Desk.COMMUNICATION:
        return forbidden(request, NO_MODERATION)
    form = ModerateForm(request.POST, auto_id=f"mod-{entry.pk}-%s")
    if form.is_valid():
        try:
            actions.moderate(
                entry,
                by=request.user,
                action=form.cleaned_data["action"],
                rule=form.cleaned_data["rule"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            flash.success(request, _("Moderation decision recorded."))
            return redirect(conversation_url(conversation) + f"#entry-{entry.pk}")
    return _conversation_page(request, conversation, status=400, **{f"moderate_{entry.pk}": form})


def download_name(attachment: Attachment) -> str:
    """The citizen's file name without control characters (a header must never break)."""
    name = "".join(ch for ch in attachment.name if ch.isprintable()).strip()
    return name[:150] or f"attachment-{attachment.pk}"


@object_view
@require_safe
def attachment_download(request, pk: int):
    """A citizen's file, from private storage, always as a download (never rendered inline)."""
    attachment = (
        Attachment.objects.select_related("entry__conversation")
        .filter(pk=pk, entry__conversation__desk__in=access.desks_for(request.user))
        .first()
    )
    if attachment is None or not attachment.file:
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    with transaction.atomic():
        audit.record(
            actor=request.user,
            action="inbox.attachment.download",
            obj=attachment.entry.conversation,
            data={"attachment": attachment.pk, "sha256": attachment.sha256},
        )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=download_name(attachment),
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
