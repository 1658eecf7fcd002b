"""The investigator console for tips: tips per notice, a tip's conversation, close, export.

Access checklist (ARCHITECTURE.md §6): anonymous -> login; everyone without
``INBOX_INVESTIGATION`` (communicators, editors, administrators, …) -> 404 on every URL here,
with no hint that tips exist; an unknown tip -> 404; wrong method -> 405. The export is a ZIP
with the tip as JSON, the attachments byte for byte, and a SHA256SUMS file; it is audited.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import zipfile
from functools import wraps

from django.contrib import messages as flash
from django.db import transaction
from django.db.models import Count, Max, Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from copps.audit import log as audit
from copps.inbox import access as inbox_access
from copps.inbox.models import Attachment, Direction
from copps.newsroom.views import console_view

from . import tips
from .models import Notice, Tip, TipState

PER_PAGE = 50


def investigators_only(view):
    """Signed in and an investigator; anyone else gets 404 (tips must not be guessable)."""

    @console_view
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not inbox_access.can_investigate(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def get_tip(pk) -> Tip:
    tip = (
        Tip.objects.select_related("conversation", "notice").filter(pk=pk).first()
        if str(pk).isdigit()
        else None
    )
    if tip is None:
        raise Http404
    return tip


@investigators_only
@require_safe
def tip_list(request):
    qs = Tip.objects.select_related("conversation", "notice").order_by("-created_at", "-pk")
    notice = None
    wanted = request.GET.get("notice", "")
    if wanted == "none":
        qs = qs.filter(notice__isnull=True)
    elif wanted.isascii() and wanted.isdigit():
        notice = Notice.objects.filter(pk=int(wanted)).first()
        if notice is None:
            raise Http404
        qs = qs.filter(notice=notice)
    else:
        wanted = ""
    from django.core.paginator import Paginator

    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    per_notice = list(
        Notice.objects.annotate(
            tip_count=Count("tips"),
            open_count=Count("tips", filter=Q(tips__state=TipState.OPEN)),
            last_tip=Max("tips__created_at"),
        )
        .filter(tip_count__gt=0)
        .select_related("message")
        .order_by("-last_tip")
    )
    without_notice = Tip.objects.filter(notice__isnull=True).count()
    return render(
        request,
        "investigations/tips_console/list.html",
        {
            "page": page,
            "tips": list(page.object_list),
            "notice": notice,
            "wanted": wanted,
            "per_notice": per_notice,
            "without_notice": without_notice,
            "section": "tips",
        },
    )


@investigators_only
@require_safe
def tip_detail(request, pk: int):
    """A tip is a conversation on the investigation desk: its page shows the tip's code,
    notice, close and export."""
    tip = get_tip(pk)
    return redirect(reverse("inbox_console:conversation", args=[tip.conversation_id]))


@investigators_only
@require_POST
def tip_close(request, pk: int):
    tip = get_tip(pk)
    tips.close(tip, by=request.user)
    flash.success(request, _("Tip closed."))
    return redirect(reverse("inbox_console:conversation", args=[tip.conversation_id]))


def _zip_name(index: int, name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name or "file").strip("._") or "file"
    return f"attachments/{index:02d}-{safe[:80]}"


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def export_tip(tip: Tip, out) -> None:
    """Write the tip as a ZIP to the binary file ``out``: tip.json, attachments/, SHA256SUMS."""
    conversation = tip.conversation
    entries = list(
        conversation.entries.select_related("by").prefetch_related("attachments").order_by("pk")
    )
    sums: list[tuple[str, str]] = []
    described = []
    index = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in entries:
            files = []
            for attachment in entry.attachments.all():
                index += 1
                path = _zip_name(index, attachment.name)
                digest = hashlib.sha256()
                try:
                    with attachment.file.open("rb") as source, archive.open(path, "w") as target:
                        for chunk in iter(lambda: source.read(1024 * 1024), b""):
                            digest.update(chunk)
                            target.write(chunk)
                    missing = False
                except (FileNotFoundError, OSError, ValueError):
                    missing = True
                if not missing:
                    sums.append((digest.hexdigest(), path))
                files.append(
                    {
                        "name": attachment.name,
                        "path": None if missing else path,
                        "content_type": attachment.content_type,
                        "size": attachment.size,
                        "sha256": attachment.sha256,
                        "sha256_verified": (not missing)
                        and digest.hexdigest() == attachment.sha256,
                        "exif": attachment.exif,
                    }
                )
            described.append(
                {
                    "direction": entry.direction,
                    "at": _iso(entry.created_at),
                    "text": entry.text,
                    "by": entry.by.username
                    if entry.by and entry.direction != Direction.IN
                    else None,
                    "send_state": entry.send_state or None,
                    "attachments": files,
                }
            )
        document = {
            "code": tip.code,
            "state": tip.state,
            "received": _iso(tip.created_at),
            "notice": (
                {"id": tip.notice.pk, "case_reference": tip.notice.case_reference}
                if tip.notice
                else None
            ),
            "conversation": {
                "id": conversation.pk,
                "source": conversation.source,
                "status": conversation.state,
            },
            "entries": described,
            "exported_at": _iso(timezone.now()),
        }
        raw = json.dumps(document, ensure_ascii=False, indent=2).encode()
        archive.writestr("tip.json", raw)
        sums.insert(0, (hashlib.sha256(raw).hexdigest(), "tip.json"))
        archive.writestr("SHA256SUMS", "".join(f"{h}  {p}\n" for h, p in sums))


@investigators_only
@require_safe
def tip_export(request, pk: int):
    tip = get_tip(pk)
    out = tempfile.TemporaryFile()
    export_tip(tip, out)
    out.seek(0)
    with transaction.atomic():
        audit.record(
            actor=request.user,
            action="tip.export",
            obj=tip,
            data={
                "attachments": Attachment.objects.filter(
                    entry__conversation=tip.conversation
                ).count()
            },
        )
    response = FileResponse(
        out, as_attachment=True, filename=f"tip-{tip.code}.zip", content_type="application/zip"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
