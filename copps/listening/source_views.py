"""The sources console, under /console/listening/sources/ (namespace ``listening_console``).

Access checklist (ARCHITECTURE.md §6): anonymous -> login; staff who neither listen nor manage
sources -> 404 (as the rest of the listening console); listening staff (communicators, editors,
analysts, investigators) see the list read-only — where posts come from and whether a source
is failing, never a secret — and get 403 on every write; administrators
(``LISTENING_SOURCES_MANAGE``) add, edit, switch, poll, import and make webhook tokens. Writes
are POST only (405), with CSRF, through ``actions``; bad input -> the form again with the
errors (400).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import wraps

from django.conf import settings
from django.contrib import messages as flash
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from copps.accounts.roles import LISTENING_SOURCES_MANAGE, has_capability
from copps.newsroom.views import console_view, forbidden

from . import access, actions, runner
from .models import Source, SourceKind
from .source_forms import FORMS, UploadForm
from .sources import importer

# The import runs in the request: about 1,000 posts a second end to end (analysis, matching),
# so 1 MiB (some 7,000 posts) answers within seconds. Larger files: copps listening_run --import.
DEFAULT_IMPORT_MAX_BYTES = 1024 * 1024
CURSOR_SHOWN = 120

KIND_NOTES: dict[str, object] = {
    SourceKind.RSS: gettext_lazy(
        "A feed of a news site, a municipality, a blog. Polled by the worker."
    ),
    SourceKind.MASTODON: gettext_lazy(
        "A hashtag or the public timeline of one server. Polled or streamed."
    ),
    SourceKind.BLUESKY: gettext_lazy(
        "Every new Bluesky post through Jetstream. Streamed by listening_run."
    ),
    SourceKind.TELEGRAM: gettext_lazy(
        "A public channel's web preview, or channels our bot administers."
    ),
    SourceKind.OWN: gettext_lazy(
        "Replies and mentions of our own accounts, from the inbox, for one purpose."
    ),
    SourceKind.WEBHOOK: gettext_lazy("Another system posts to a secret address."),
    SourceKind.IMPORT: gettext_lazy("Upload a JSON lines or CSV file."),
}


def import_max_bytes() -> int:
    return int(getattr(settings, "COPPS_LISTENING_IMPORT_MAX_BYTES", DEFAULT_IMPORT_MAX_BYTES))


def may_manage(user) -> bool:
    return has_capability(user, LISTENING_SOURCES_MANAGE)


def sources_view(view):
    """Listening staff and source managers; everyone else gets a 404."""

    @console_view
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not (access.may_listen(request.user) or may_manage(request.user)):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def manage_view(view):
    """As ``sources_view``, and a 403 for those who may only look."""

    @sources_view
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not may_manage(request.user):
            return forbidden(request, _("Only administrators manage listening sources."))
        return view(request, *args, **kwargs)

    return wrapper


def _context(request, **extra) -> dict:
    return {"section": "listening", "may_manage": may_manage(request.user), **extra}


# What a source's cursor means, in words -------------------------------------------------------


def cursor_text(source: Source) -> str:
    """The cursor as a person reads it (the raw value follows on the page, shortened)."""
    raw = source.cursor.strip()
    if not raw:
        return _("not started: the first run starts from the newest posts")
    kind = source.kind
    if kind == SourceKind.RSS:
        try:
            state = json.loads(raw)
        except ValueError:
            state = None
        if isinstance(state, dict):
            seen = len(state.get("seen") or [])
            text = ngettext(
                "%(n)d entry seen in the last fetch", "%(n)d entries seen in the last fetch", seen
            ) % {"n": seen}
            if state.get("etag"):
                text += " · ETag " + str(state["etag"])[:60]
            return text
    elif kind == SourceKind.MASTODON and raw.isdigit():
        return _("after status %(id)s") % {"id": raw}
    elif kind == SourceKind.BLUESKY and raw.isdigit():
        try:
            moment = datetime.fromtimestamp(int(raw) / 1_000_000, tz=UTC)
        except (OverflowError, ValueError, OSError):
            moment = None
        if moment is not None:
            return _("events up to %(time)s UTC") % {"time": moment.strftime("%Y-%m-%d %H:%M:%S")}
    elif kind == SourceKind.TELEGRAM and raw.isdigit():
        if (source.config or {}).get("token"):
            return _("next update %(id)s") % {"id": raw}
        return _("after message %(id)s") % {"id": raw}
    elif kind == SourceKind.OWN:
        last, _sep, holes = raw.partition("|")
        waited = len([h for h in holes.split(",") if h])
        if waited:
            return ngettext(
                "after inbox entry %(id)s, %(n)d earlier id awaited",
                "after inbox entry %(id)s, %(n)d earlier ids awaited",
                waited,
            ) % {"id": last, "n": waited}
        return _("after inbox entry %(id)s") % {"id": last}
    return ""


def how_it_runs(source: Source) -> str:
    if source.kind == SourceKind.WEBHOOK:
        return _("webhook")
    if source.kind == SourceKind.IMPORT:
        return _("file import")
    if runner.is_streaming(source):
        return _("streamed by listening_run")
    return _("polled every %(s)d s") % {
        "s": _interval(source),
    }


def _interval(source: Source) -> int:
    value = (source.config or {}).get("interval")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return int(getattr(settings, "COPPS_LISTENING_POLL_SECONDS", 300))


def _where(source: Source, user) -> str:
    """The one setting that says where a source reads from (never a secret)."""
    config = source.config or {}
    if source.kind == SourceKind.RSS:
        return str(config.get("url", ""))
    if source.kind == SourceKind.MASTODON:
        instance = str(config.get("instance", ""))
        if config.get("timeline") == "public":
            return f"{instance} · " + (
                _("local timeline") if config.get("local") else _("public timeline")
            )
        return f"{instance} · #{config.get('tag', '')}"
    if source.kind == SourceKind.BLUESKY:
        return str(config.get("url") or _("Bluesky's public Jetstream"))
    if source.kind == SourceKind.TELEGRAM:
        if config.get("token"):
            chats = config.get("chats") or []
            return _("our bot") + (f" · {', '.join(map(str, chats))}" if chats else "")
        return f"t.me/s/{config.get('channel', '')}"
    if source.kind == SourceKind.OWN:
        key = config.get("purpose")
        if not isinstance(key, int) or isinstance(key, bool):
            return ""
        purpose = access.purposes_for(user).filter(pk=key).first()
        return _("for the purpose “%(name)s”") % {"name": purpose.name} if purpose else ""
    if source.kind == SourceKind.WEBHOOK:
        return _("token set") if config.get("token_sha256") else _("no token yet")
    return ""


def _row(source: Source, user) -> dict:
    raw = source.cursor.strip()
    text = cursor_text(source)
    # The stored value too, where the words do not already carry it (an RSS cursor's JSON is
    # summed up in the words).
    shown = "" if source.kind == SourceKind.RSS or raw in text else raw
    return {
        "source": source,
        "runs": how_it_runs(source),
        "where": _where(source, user),
        "cursor_text": text,
        "cursor_raw": shown if len(shown) <= CURSOR_SHOWN else shown[:CURSOR_SHOWN] + "…",
        "pollable": source.kind in actions.POLLED_KINDS and not runner.is_streaming(source),
        "secret_set": bool(
            (source.config or {}).get("token") or (source.config or {}).get("token_sha256")
        ),
    }


# Views -------------------------------------------------------------------------------------


@require_safe
@sources_view
def source_list(request):
    rows = [_row(source, request.user) for source in Source.objects.all()]
    return render(request, "listening/console/source_list.html", _context(request, rows=rows))


@require_safe
@manage_view
def source_kinds(request):
    kinds = [{"kind": k, "label": label, "note": KIND_NOTES[k]} for k, label in SourceKind.choices]
    return render(request, "listening/console/source_kind.html", _context(request, kinds=kinds))


@require_http_methods(["GET", "HEAD", "POST"])
@manage_view
def source_edit(request, pk: int | None = None, kind: str | None = None):
    source = get_object_or_404(Source, pk=pk) if pk is not None else None
    kind = source.kind if source is not None else kind
    if kind not in FORMS:
        raise Http404
    form = FORMS[kind](request.POST or None, source=source)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = actions.save_source(
                    source,
                    by=request.user,
                    kind=kind,
                    name=form.cleaned_data["name"],
                    enabled=form.cleaned_data["enabled"],
                    config=form.config(),
                    secrets=form.secrets(),
                )
            except actions.ListeningError as error:
                form.apply_errors(error.errors)
            else:
                if source is None and kind == SourceKind.WEBHOOK:
                    return _show_token(
                        request, saved, actions.rotate_webhook_token(saved, by=request.user)
                    )
                flash.success(request, _("Source saved."))
                if source is None and kind == SourceKind.IMPORT:
                    return redirect(reverse("listening_console:source-import", args=[saved.pk]))
                return redirect(reverse("listening_console:sources"))
        status = 400
    return render(
        request,
        "listening/console/source_form.html",
        _context(
            request,
            form=form,
            source=source,
            kind=kind,
            kind_label=SourceKind(kind).label,
            row=_row(source, request.user) if source is not None else None,
        ),
        status=status,
    )


@require_POST
@manage_view
def source_enabled(request, pk: int):
    source = get_object_or_404(Source, pk=pk)
    enabled = request.POST.get("enabled") == "1"
    actions.set_source_enabled(source, by=request.user, enabled=enabled)
    if enabled:
        flash.success(request, _("“%(name)s” is switched on.") % {"name": source.name})
    else:
        flash.success(request, _("“%(name)s” is switched off.") % {"name": source.name})
    return redirect(reverse("listening_console:sources"))


@require_POST
@manage_view
def source_poll(request, pk: int):
    source = get_object_or_404(Source, pk=pk)
    try:
        actions.request_poll(source, by=request.user)
    except actions.ListeningError as error:
        flash.error(request, str(error))
    else:
        flash.success(
            request,
            _(
                "The worker polls “%(name)s” on its next round (within seconds while it runs). "
                "Reload this page to see the outcome."
            )
            % {"name": source.name},
        )
    return redirect(reverse("listening_console:sources"))


@require_POST
@manage_view
def source_token(request, pk: int):
    source = get_object_or_404(Source, pk=pk)
    try:
        token = actions.rotate_webhook_token(source, by=request.user)
    except actions.ListeningError:
        raise Http404 from None
    return _show_token(request, source, token)


@never_cache
def _show_token(request, source: Source, token: str):
    """The token, once: rendered straight into the answer to the POST (never in a redirect,
    a flash message or a cache)."""
    url = request.build_absolute_uri(reverse("listening-hook", args=[source.pk, token]))
    return render(
        request,
        "listening/console/source_token.html",
        _context(request, source=source, url=url),
    )


class LimitedUpload(FileUploadHandler):
    """Stops reading an upload past ``limit`` bytes (the parts before it, such as the CSRF
    token, are kept): a huge file costs neither memory nor disk."""

    def __init__(self, request, limit: int):
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.too_large = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


@csrf_exempt  # checked by csrf_protect below, once the upload handler is in place
def source_import(request, pk: int):
    limiter = LimitedUpload(request, import_max_bytes())
    request.upload_handlers.insert(0, limiter)
    return _source_import(request, pk, limiter)


@require_http_methods(["GET", "HEAD", "POST"])
@manage_view
@csrf_protect
def _source_import(request, pk: int, limiter: LimitedUpload):
    source = get_object_or_404(Source, pk=pk, kind=SourceKind.IMPORT)
    limit = import_max_bytes()
    posted = request.method == "POST"
    form = UploadForm(request.POST if posted else None, request.FILES if posted else None)
    report = None
    status = 200
    if request.method == "POST":
        status = 400
        if limiter.too_large:
            form.is_valid()
            form.errors.pop("file", None)
            form.add_error(
                "file",
                _(
                    "The file is larger than %(mb)s MB. Import larger files with copps listening_run --import."
                )
                % {"mb": f"{limit / 1024 / 1024:g}"},
            )
        elif form.is_valid():
            upload = form.cleaned_data["file"]
            fmt = form.cleaned_data["format"] or importer.format_of(upload.name or "")
            try:
                report = actions.import_posts(
                    source, by=request.user, handle=upload, fmt=fmt, size=upload.size or 0
                )
            except actions.ListeningError as error:
                for field, message in error.errors.items():
                    form.add_error(field if field in form.fields else None, message)
            else:
                status = 200
                source.refresh_from_db()
    return render(
        request,
        "listening/console/source_import.html",
        _context(
            request,
            source=source,
            form=form,
            report=report,
            limit_mb=f"{limit / 1024 / 1024:g}",
            row=_row(source, request.user),
        ),
        status=status,
    )
