"""The blotter console, mounted at /console/blotter/ (namespace ``blotter_console``).

Access checklist (ARCHITECTURE.md §6): anonymous -> login; staff whose role has neither
``blotter.manage`` nor ``blotter.import`` -> 404 (the blotter's internals are not theirs to know
of); the overview and the upload are for both capabilities, the policy, its history, the review
queue and the raw incidents for ``blotter.manage`` only (else 404); writes are POST only (405),
with CSRF; bad input -> the page again with the errors (400). Writes go through the blotter's
named functions (``importer.import_rows``, ``policy.save_version``, ``publish.approve_review`` /
``reject_review``); opening a raw incident is recorded in the audit log.
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from django.contrib import messages as flash
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from copps.accounts.roles import BLOTTER_IMPORT, BLOTTER_MANAGE, has_capability
from copps.audit import log as audit
from copps.audit.models import AuditRecord
from copps.lib.charts import CHART_DAYS, DAY_CHART, day_bars
from copps.newsroom.views import console_view

from . import importer, publish
from . import policy as policies
from .console_forms import (
    CategoryFormSet,
    PolicyForm,
    ReviewForm,
    UploadForm,
    category_initial,
    upload_max_bytes,
)
from .models import Decision, Entry, EntryState, Incident, PolicyVersion

SHOWN_ERRORS = 200


def blotter_view(*capabilities: str):
    """Signed-in staff holding one of ``capabilities``; everyone else gets a 404."""

    def decorator(view):
        @console_view
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not any(has_capability(request.user, c) for c in capabilities):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _context(request, **extra) -> dict:
    return {
        "may_manage": has_capability(request.user, BLOTTER_MANAGE),
        "may_import": has_capability(request.user, BLOTTER_IMPORT)
        or has_capability(request.user, BLOTTER_MANAGE),
        "section": "blotter",
        **extra,
    }


# Overview ------------------------------------------------------------------------------------


def published_chart(today=None) -> dict:
    """Entries published per day over the last ``CHART_DAYS`` days, geometry worked out."""
    today = today or timezone.localdate()
    first = today - timedelta(days=CHART_DAYS - 1)
    per_day = dict(
        Entry.objects.filter(
            state=EntryState.PUBLISHED, published_at__date__gte=first, published_at__isnull=False
        )
        .annotate(day=TruncDate("published_at"))
        .order_by()
        .values_list("day")
        .annotate(n=Count("pk"))
    )
    geometry = DAY_CHART
    days, width = day_bars(per_day, first, CHART_DAYS, geometry)
    return {
        "days": days,
        "first": first,
        "last": today,
        "total": sum(per_day.values()),
        "geometry": geometry,
        "width": width,
        "view_height": geometry["height"] + 16,
        "label_y": geometry["height"] + 13,
    }


@require_safe
@blotter_view(BLOTTER_MANAGE, BLOTTER_IMPORT)
def overview(request):
    counts = dict(Incident.objects.order_by().values_list("decision").annotate(n=Count("pk")))
    decisions = [
        {"value": value, "label": label, "count": counts.get(value, 0)}
        for value, label in Decision.choices
    ]
    imports = AuditRecord.objects.filter(action="blotter.import").order_by("-seq")[:10]
    return render(
        request,
        "blotter/console/overview.html",
        _context(
            request,
            decisions=decisions,
            total=sum(counts.values()),
            imports=imports,
            review_count=Entry.objects.filter(state=EntryState.REVIEW).count(),
            chart=published_chart(),
            policy=policies.current(),
        ),
    )


# Upload --------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@blotter_view(BLOTTER_MANAGE, BLOTTER_IMPORT)
def upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    result = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            raw = upload.read(upload_max_bytes() + 1)
            result = importer.Result()
            rows = importer.rows_from_file(
                raw, upload.name or "", result, form.cleaned_data.get("format") or ""
            )
            importer.import_rows(rows, result=result, actor=request.user)
            if not result.accepted and result.errors:
                status = 400
            flash_text = _(
                "%(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
                "%(errors)s rows refused."
            ) % {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "errors": len(result.errors),
            }
            (flash.warning if result.errors else flash.success)(request, flash_text)
        else:
            status = 400
    return render(
        request,
        "blotter/console/upload.html",
        _context(
            request,
            form=form,
            result=result,
            errors=(result.errors[:SHOWN_ERRORS] if result else []),
            hidden_errors=max(0, len(result.errors) - SHOWN_ERRORS) if result else 0,
            max_mb=upload_max_bytes() // (1024 * 1024),
        ),
        status=status,
    )


# Policy --------------------------------------------------------------------------------------


def _sensitive_made_public(categories: dict, current: PolicyVersion) -> list[str]:
    return sorted(
        code
        for code in policies.SENSITIVE_CODES
        if categories.get(code, {}).get("public")
        and not (current.categories.get(code) or {}).get("public")
    )


@require_http_methods(["GET", "HEAD", "POST"])
@blotter_view(BLOTTER_MANAGE)
def policy_edit(request):
    current = policies.current()
    sensitive: list[str] = []
    if request.method == "POST":
        formset = CategoryFormSet(request.POST, prefix="cat")
        form = PolicyForm(request.POST)
        if formset.is_valid() and form.is_valid():
            categories = formset.categories()  # type: ignore[attr-defined]
            data = form.cleaned_data
            sensitive = _sensitive_made_public(categories, current)
            if sensitive and not data.get("confirm_sensitive"):
                form.add_error(
                    "confirm_sensitive",
                    _("Confirm that these sensitive categories become public."),
                )
            else:
                try:
                    version = policies.save_version(
                        by=request.user,
                        categories=categories,
                        location=data["location"],
                        time_rounding_minutes=data["time_rounding_minutes"],
                        summary=data["summary"],
                        note=data.get("note") or "",
                    )
                except ValueError as error:
                    form.add_error(None, str(error))
                else:
                    flash.success(
                        request,
                        _("Policy version %(n)s is in force.") % {"n": version.number},
                    )
                    return redirect(reverse("blotter_console:history"))
        status = 400
    else:
        formset = CategoryFormSet(initial=category_initial(current), prefix="cat")
        form = PolicyForm(
            initial={
                "location": current.location,
                "time_rounding_minutes": current.time_rounding_minutes,
                "summary": current.summary,
            }
        )
        status = 200
    return render(
        request,
        "blotter/console/policy.html",
        _context(
            request,
            policy=current,
            formset=formset,
            form=form,
            sensitive=sensitive,
            sensitive_codes=policies.SENSITIVE_CODES,
        ),
        status=status,
    )


def _hours(value) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return "—"


def version_changes(version: PolicyVersion, previous: PolicyVersion | None) -> list[str]:
    """What a version changed against the one before, in words (public categories first)."""
    if previous is None:
        public = sorted(c for c, r in version.categories.items() if r.get("public"))
        return [_("First version; public: %(codes)s") % {"codes": ", ".join(public) or "—"}]
    old, new = previous.categories, version.categories
    changes = []
    made_public = sorted(
        c for c, r in new.items() if r.get("public") and not (old.get(c) or {}).get("public")
    )
    made_private = sorted(
        c for c, r in old.items() if r.get("public") and not (new.get(c) or {}).get("public")
    )
    if made_public:
        changes.append(_("now public: %(codes)s") % {"codes": ", ".join(made_public)})
    if made_private:
        changes.append(_("no longer public: %(codes)s") % {"codes": ", ".join(made_private)})
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    if added:
        changes.append(_("categories added: %(codes)s") % {"codes": ", ".join(added)})
    if removed:
        changes.append(_("categories removed: %(codes)s") % {"codes": ", ".join(removed)})
    for code in sorted(set(new) & set(old)):
        before, after = old[code].get("delay_hours"), new[code].get("delay_hours")
        if before != after:
            changes.append(
                _("delay of %(code)s: %(before)s h → %(after)s h")
                % {"code": code, "before": _hours(before), "after": _hours(after)}
            )
        if (old[code].get("labels") or {}) != (new[code].get("labels") or {}):
            changes.append(_("labels of %(code)s changed") % {"code": code})
    if version.location != previous.location:
        changes.append(_("location: %(mode)s") % {"mode": version.get_location_display()})
    if version.time_rounding_minutes != previous.time_rounding_minutes:
        changes.append(_("times rounded to %(n)s minutes") % {"n": version.time_rounding_minutes})
    if version.summary != previous.summary:
        changes.append(_("summary: %(mode)s") % {"mode": version.get_summary_display()})
    return changes or [_("no change in the rules")]


@require_safe
@blotter_view(BLOTTER_MANAGE)
def history(request):
    versions = list(PolicyVersion.objects.select_related("created_by").order_by("-number")[:100])
    rows = []
    for i, version in enumerate(versions):
        previous = versions[i + 1] if i + 1 < len(versions) else None
        if previous is None and version.number > 1:
            previous = PolicyVersion.objects.filter(number__lt=version.number).first()
        rows.append(
            {
                "version": version,
                "public": sorted(c for c, r in version.categories.items() if r.get("public")),
                "changes": version_changes(version, previous),
            }
        )
    return render(request, "blotter/console/history.html", _context(request, rows=rows))


# Review queue --------------------------------------------------------------------------------


@require_safe
@blotter_view(BLOTTER_MANAGE)
def review_queue(request):
    entries = list(
        Entry.objects.filter(state=EntryState.REVIEW)
        .select_related("incident")
        .order_by("occurred_at", "pk")[:50]
    )
    items = [
        {"entry": e, "form": ReviewForm(initial={"summary": e.summary}, prefix=f"e{e.pk}")}
        for e in entries
    ]
    total = Entry.objects.filter(state=EntryState.REVIEW).count()
    return render(
        request,
        "blotter/console/review.html",
        _context(request, items=items, total=total),
    )


def _review_entry(pk: int) -> Entry:
    return get_object_or_404(
        Entry.objects.select_related("incident"), pk=pk, state=EntryState.REVIEW
    )


@require_POST
@blotter_view(BLOTTER_MANAGE)
def review_approve(request, pk: int):
    entry = _review_entry(pk)
    form = ReviewForm(request.POST, prefix=f"e{entry.pk}")
    if not form.is_valid():
        flash.error(request, _("The text is too long (at most 5,000 characters)."))
        return redirect(reverse("blotter_console:review"))
    publish.approve_review(entry, by=request.user, summary=form.cleaned_data["summary"])
    flash.success(request, _("Entry published."))
    return redirect(reverse("blotter_console:review"))


@require_POST
@blotter_view(BLOTTER_MANAGE)
def review_reject(request, pk: int):
    entry = _review_entry(pk)
    publish.reject_review(entry, by=request.user)
    flash.success(request, _("Entry rejected: the incident is held back."))
    return redirect(reverse("blotter_console:review"))


# Raw incidents -------------------------------------------------------------------------------


@require_safe
@blotter_view(BLOTTER_MANAGE)
def incident_list(request):
    decision = request.GET.get("decision", "")
    query = request.GET.get("q", "").strip()[:100]
    qs = Incident.objects.only(
        "pk", "incident_id", "reported_at", "category_code", "municipality", "decision"
    )
    if decision in Decision.values:
        qs = qs.filter(decision=decision)
    else:
        decision = ""
    if query:
        qs = qs.filter(incident_id__icontains=query)
    return render(
        request,
        "blotter/console/incidents.html",
        _context(
            request,
            incidents=list(qs.order_by("-reported_at", "-pk")[:200]),
            decision=decision,
            decisions=Decision.choices,
            query=query,
        ),
    )


@require_safe
@blotter_view(BLOTTER_MANAGE)
def incident_detail(request, pk: int):
    incident = get_object_or_404(Incident, pk=pk)
    # Raw incidents carry personal data: every look is on record.
    with transaction.atomic():
        audit.record(actor=request.user, action="blotter.incident.view", obj=incident)
    entry = Entry.objects.filter(incident=incident).first()
    return render(
        request,
        "blotter/console/incident.html",
        _context(request, incident=incident, entry=entry),
    )
