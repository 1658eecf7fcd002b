"""The listening console, mounted at /console/listening/ (namespace ``listening_console``).

Access checklist (ARCHITECTURE.md §6): anonymous -> login; staff without either listening
capability -> 404; a purpose, watch or result of a kind the user's role does not cover -> 404
(communicators never learn that an investigation exists); writes are POST only (405), with CSRF;
bad input -> the form again with the errors (400), a query's syntax error pointing at its
position. Every view of results ("listening.view") and every tried query ("listening.query") is
recorded in the audit log with ids only: never the query text or the posts.
"""

from __future__ import annotations

from functools import wraps

from django import forms
from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from copps.audit import log as audit
from copps.newsroom.views import console_view

from . import access, actions
from . import query as q
from .models import Purpose, PurposeKind

TRY_DEFAULT = 1000
TRY_MAX = 5000
TRY_SHOWN = 50
PAGE_SIZE = 50


def listening_view(view):
    """Signed-in staff holding a listening capability; everyone else gets a 404."""

    @console_view
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not access.may_listen(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _context(request, **extra) -> dict:
    return {"section": "listening", "kinds": access.kinds_for(request.user), **extra}


def open_alerts(user, watch=None):
    """Alerts not yet acknowledged, of the watches ``user`` may see (the newest 20)."""
    from .models import ListeningAlert

    alerts = ListeningAlert.objects.filter(
        watch__purpose__kind__in=access.kinds_for(user), acknowledged_at__isnull=True
    ).select_related("watch")
    if watch is not None:
        alerts = alerts.filter(watch=watch)
    return list(alerts[:20])


# Forms ---------------------------------------------------------------------------------------


class PurposeForm(forms.ModelForm):
    class Meta:
        model = Purpose
        fields = list(actions.PURPOSE_FIELDS)
        widgets = {
            "ends_on": forms.DateInput(attrs={"type": "date"}),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = access.kinds_for(user)
        kind = self.fields["kind"]
        kind.choices = [(v, label) for v, label in PurposeKind.choices if v in allowed]  # type: ignore[attr-defined]
        self.fields["retention_days"].widget.attrs.update(min=1, max=3650)
        for name in actions.INVESTIGATION_REQUIRED:
            self.fields[name].help_text = gettext_lazy("Required for an investigation.")

    def clean_retention_days(self):
        days = self.cleaned_data["retention_days"]
        if not 1 <= days <= 3650:
            raise forms.ValidationError(_("Between 1 and 3650 days."))
        return days


class WatchForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    query = forms.CharField(
        label=gettext_lazy("Query"),
        max_length=q.MAX_QUERY,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=gettext_lazy(
            'AND, OR, NOT (in capitals), (brackets), "exact phrase", #hashtag, @account, '
            "lang:nl, place:Gent or place:9000, word, prefix*"
        ),
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def clean_query(self):
        text = self.cleaned_data["query"]
        try:
            q.parse(text)
        except q.QueryError as error:
            self.query_error = error
            raise forms.ValidationError(str(error)) from error
        return text


class TryForm(forms.Form):
    query = forms.CharField(label=gettext_lazy("Query"), max_length=q.MAX_QUERY)
    posts = forms.IntegerField(
        label=gettext_lazy("Try it on the last … posts"),
        min_value=1,
        max_value=TRY_MAX,
        initial=TRY_DEFAULT,
    )
    watch = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean_query(self):
        text = self.cleaned_data["query"]
        try:
            self.tree = q.parse(text)
        except q.QueryError as error:
            self.query_error = error
            raise forms.ValidationError(str(error)) from error
        return text


def query_error_context(form) -> dict | None:
    """The query and a caret under the offending position, for the template."""
    error = getattr(form, "query_error", None)
    if error is None:
        return None
    text = str(form.data.get("query", ""))
    return {
        "message": error.message,
        "position": error.position,
        "text": text,
        "caret": " " * error.position + "^",
    }


# Overview and purposes -----------------------------------------------------------------------


@require_safe
@listening_view
def overview(request):
    purposes = access.purposes_for(request.user).annotate(n_watches=Count("watches"))
    return render(
        request,
        "listening/console/overview.html",
        _context(request, purposes=purposes, alerts=open_alerts(request.user)),
    )


@require_safe
@listening_view
def purpose_detail(request, pk: int):
    purpose = access.get_purpose(request.user, pk)
    watches = purpose.watches.annotate(n_matches=Count("matches"))
    return render(
        request,
        "listening/console/purpose.html",
        _context(request, purpose=purpose, watches=watches),
    )


@require_http_methods(["GET", "HEAD", "POST"])
@listening_view
def purpose_edit(request, pk: int | None = None):
    purpose = access.get_purpose(request.user, pk) if pk is not None else None
    form = PurposeForm(request.POST or None, instance=purpose, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            fields = {name: form.cleaned_data.get(name) for name in actions.PURPOSE_FIELDS}
            try:
                # A fresh instance: a refused change must not leave the form's object half-set.
                target = Purpose.objects.get(pk=purpose.pk) if purpose is not None else None
                saved = actions.save_purpose(target, by=request.user, **fields)
            except actions.ListeningError as error:
                for field, message in error.errors.items():
                    form.add_error(field, message)
            else:
                flash.success(request, _("Purpose saved."))
                return redirect(reverse("listening_console:purpose", args=[saved.pk]))
        status = 400
    return render(
        request,
        "listening/console/purpose_form.html",
        _context(request, form=form, purpose=purpose),
        status=status,
    )


# Watches -------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@listening_view
def watch_edit(request, pk: int | None = None, purpose_pk: int | None = None):
    watch = access.get_watch(request.user, pk) if pk is not None else None
    purpose = watch.purpose if watch is not None else access.get_purpose(request.user, purpose_pk)  # type: ignore[arg-type]
    initial = {"name": watch.name, "query": watch.query, "active": watch.active} if watch else None
    form = WatchForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = actions.save_watch(
                    watch,
                    by=request.user,
                    purpose=purpose,
                    name=form.cleaned_data["name"],
                    query=form.cleaned_data["query"],
                    active=form.cleaned_data["active"],
                )
            except actions.ListeningError as error:
                for field, message in error.errors.items():
                    form.add_error(field if field in form.fields else None, message)
            else:
                flash.success(request, _("Watch saved."))
                return redirect(reverse("listening_console:watch", args=[saved.pk]))
        status = 400
    return render(
        request,
        "listening/console/watch_form.html",
        _context(
            request,
            form=form,
            watch=watch,
            purpose=purpose,
            query_error=query_error_context(form),
        ),
        status=status,
    )


@require_safe
@listening_view
def watch_results(request, pk: int):
    watch = access.get_watch(request.user, pk)
    matches = watch.matches.select_related("post", "post__source").order_by(
        "-post__published_at", "-post__received_at", "-pk"
    )
    page = Paginator(matches, PAGE_SIZE).get_page(request.GET.get("page"))
    with transaction.atomic():
        audit.record(
            actor=request.user,
            action="listening.view",
            obj=watch,
            data={
                "purpose": watch.purpose_id,
                "page": page.number,
                "posts": [m.post_id for m in page.object_list],
            },
        )
    return render(
        request,
        "listening/console/results.html",
        _context(
            request,
            watch=watch,
            purpose=watch.purpose,
            page=page,
            alerts=open_alerts(request.user, watch),
            try_form=TryForm(
                initial={"query": watch.query, "posts": TRY_DEFAULT, "watch": watch.pk}
            ),
        ),
    )


@require_POST
@listening_view
def try_query(request):
    form = TryForm(request.POST)
    result = None
    status = 200
    watch = None
    if form.is_valid():
        if form.cleaned_data.get("watch"):
            watch = access.get_watch(request.user, form.cleaned_data["watch"])
        n = form.cleaned_data["posts"]
        posts = list(
            access.posts_for(request.user)
            .order_by("-received_at", "-pk")
            .only(
                "pk", "text", "author", "language", "places", "published_at", "received_at", "url"
            )[:n]
        )
        matched = [
            p
            for p in posts
            if q.evaluate(
                form.tree, text=p.text, author=p.author, language=p.language, places=p.places
            )
        ]
        with transaction.atomic():
            audit.record(
                actor=request.user,
                action="listening.query",
                obj=watch,
                object_type="" if watch else "listening.post",
                data={
                    "tried_on": len(posts),
                    "matched": [p.pk for p in matched[:TRY_SHOWN]],
                    "count": len(matched),
                },
            )
        result = {"tried": len(posts), "count": len(matched), "posts": matched[:TRY_SHOWN]}
    else:
        status = 400
    return render(
        request,
        "listening/console/try.html",
        _context(
            request,
            form=form,
            watch=watch,
            result=result,
            query_error=query_error_context(form),
        ),
        status=status,
    )
