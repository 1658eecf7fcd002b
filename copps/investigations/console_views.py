"""The notices console: list, create, detail (edit, authorisation, submit, resolve).

Access checklist (ARCHITECTURE.md §6): anonymous -> login; the list and the detail need
``MESSAGE_VIEW`` and show the case reference and the magistrate's order only to those who
manage notices (investigators); every write needs ``NOTICES_MANAGE`` (else 403); an unknown
notice -> 404; wrong method -> 405; bad input -> the page again with the errors (400); a message
someone else changed meanwhile -> 409. Writes go through ``copps.investigations.actions``. The
public text is written in the newsroom's message editor (linked from the detail page).
"""

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from copps.accounts import roles
from copps.newsroom.actions import Conflict, GuidelineBlocked, InvalidTransition, VersionInput
from copps.newsroom.forms import apply_errors
from copps.newsroom.views import console_view, error_page, requires

from . import access, actions
from .forms import AuthorisationForm, NewNoticeForm, NoticeForm, ResolveForm
from .models import Notice, NoticeState

MANAGE_REFUSAL = gettext_lazy("Only investigators create, authorise and resolve notices.")


def _detail_url(notice: Notice) -> str:
    return reverse("notice_console:detail", args=[notice.pk])


@console_view
@require_safe
@requires(roles.MESSAGE_VIEW)
def notice_list(request):
    state = request.GET.get("state", "")
    qs = Notice.objects.select_related("message", "authorisation").prefetch_related(
        "message__versions"
    )
    if state in NoticeState.values:
        qs = qs.filter(state=state)
    else:
        state = ""
    return render(
        request,
        "investigations/console/list.html",
        {
            "notices": list(qs[:200]),
            "state": state,
            "states": NoticeState.choices,
            "sees_internal": access.sees_internal(request.user),
            "may_manage": access.can_manage(request.user),
            "section": "notices",
        },
    )


@console_view
@require_http_methods(["GET", "HEAD", "POST"])
@requires(roles.NOTICES_MANAGE, MANAGE_REFUSAL)
def notice_new(request):
    form = NewNoticeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            notice = actions.create_notice(
                by=request.user,
                kind=data["kind"],
                case_reference=data["case_reference"],
                area=data["area"],
                versions=[VersionInput(data["language"], data["title"], data["body"])],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            flash.success(request, _("Notice created. Add photos and languages in the editor."))
            return redirect(_detail_url(notice))
    status = 400 if form.is_bound else 200
    return render(
        request,
        "investigations/console/new.html",
        {"form": form, "section": "notices"},
        status=status,
    )


def _detail(request, notice: Notice, status: int = 200, **forms):
    manage = access.can_manage(request.user)
    context = {
        "notice": notice,
        "message": notice.message,
        "sees_internal": access.sees_internal(request.user),
        "may_manage": manage and not notice.is_closed,
        "authorisation_valid": bool(notice.authorisation and notice.authorisation.is_valid()),
        "section": "notices",
    }
    if manage and not notice.is_closed:
        context["edit_form"] = forms.get("edit_form") or NoticeForm(
            initial={"kind": notice.kind, "case_reference": notice.case_reference}
        )
        context["authorisation_form"] = forms.get("authorisation_form") or AuthorisationForm()
        context["resolve_form"] = forms.get("resolve_form") or ResolveForm()
    context["submit_errors"] = forms.get("submit_errors", [])
    return render(request, "investigations/console/detail.html", context, status=status)


@console_view
@require_safe
@requires(roles.MESSAGE_VIEW)
def notice_detail(request, pk: int):
    return _detail(request, access.get_notice_for(request.user, pk))


def _manage_view(view):
    """POST only, notices managers only (403), the notice must exist (404)."""

    @console_view
    @require_POST
    @requires(roles.NOTICES_MANAGE, MANAGE_REFUSAL)
    def wrapper(request, pk: int):
        return view(request, access.get_notice_for(request.user, pk))

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@_manage_view
def notice_edit(request, notice: Notice):
    form = NoticeForm(request.POST)
    if form.is_valid():
        try:
            actions.update_notice(notice, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            flash.success(request, _("Notice saved."))
            return redirect(_detail_url(notice))
    return _detail(request, notice, status=400, edit_form=form)


@_manage_view
def authorisation_add(request, notice: Notice):
    form = AuthorisationForm(request.POST)
    if form.is_valid():
        try:
            actions.record_authorisation(notice, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            flash.success(request, _("Authorisation recorded."))
            return redirect(_detail_url(notice))
    return _detail(request, notice, status=400, authorisation_form=form)


@_manage_view
def notice_submit(request, notice: Notice):
    try:
        actions.submit_notice(notice, by=request.user)
    except ValidationError as error:
        return _detail(request, notice, status=400, submit_errors=error.messages)
    except GuidelineBlocked:
        return _detail(
            request,
            notice,
            status=422,
            submit_errors=[_("The text breaks a guideline: open it in the message editor.")],
        )
    except (Conflict, InvalidTransition):
        return error_page(
            request,
            409,
            _("Someone else acted first"),
            _("The notice's message is no longer a draft. Open the notice again."),
            back_url=_detail_url(notice),
        )
    flash.success(request, _("Sent for review: an editor approves the publication."))
    return redirect(_detail_url(notice))


@_manage_view
def notice_resolve(request, notice: Notice):
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            actions.resolve_notice(notice, by=request.user, **form.cleaned_data)
        except Conflict:
            return error_page(
                request,
                409,
                _("Someone else acted first"),
                _("The notice's message changed meanwhile. Open the notice again."),
                back_url=_detail_url(notice),
            )
        flash.success(
            request,
            _("Notice closed: its page now says thank you, and its posts are being removed."),
        )
        return redirect(_detail_url(notice))
    return _detail(request, notice, status=400, resolve_form=form)
