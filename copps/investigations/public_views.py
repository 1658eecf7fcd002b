"""Public notice pages: ``/<lang>/notices/`` (list with filters) and ``/<lang>/notices/<id>/``.

- Only active notices whose message is published (or corrected) are listed and shown.
- A resolved or lapsed notice answers **410 Gone** with a short neutral note ("resolved — thank
  you"): no name, no photo, no text, no kind — nothing that identifies the person. Its message
  is retracted, so the news page, feeds and channels drop it too.
- Any other notice (draft, waiting for review, unknown id) is a 404, as if it did not exist.
- Like the rest of the public site: no JavaScript, no cookies, ``Cache-Control: public,
  max-age=60``. Unknown or hostile filter values are ignored, never an error.
"""

import datetime as dt

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from copps.accounts.models import Area
from copps.newsroom.models import CONTENT_LANGUAGES
from copps.newsroom.workflow import PUBLIC_STATES
from copps.public.views import comments_context, public_cache

from .models import CLOSED_STATES, Notice, NoticeKind, NoticeState

NOTICES_PER_PAGE = 20
# Where a citizen reports what they know by phone (the written tip form: tip_views).
POLICE_PHONE = "101"


def _language() -> str:
    language = get_language() or settings.LANGUAGE_CODE
    return language if language in CONTENT_LANGUAGES else settings.LANGUAGE_CODE


def public_notices():
    return (
        Notice.objects.filter(state=NoticeState.ACTIVE, message__state__in=PUBLIC_STATES)
        .select_related("message", "message__area")
        .prefetch_related("message__versions", "message__images")
        .order_by("-message__published_at", "-pk")
    )


def _since(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@require_safe
@public_cache
def notice_list(request):
    """``?kind=``, ``?area=<slug>`` and ``?since=YYYY-MM-DD`` (published on or after) narrow it."""
    language = _language()
    kind = request.GET.get("kind", "")
    if kind not in NoticeKind.values:
        kind = ""
    areas = list(Area.objects.order_by("name"))
    area = request.GET.get("area", "")
    if area not in {a.slug for a in areas}:
        area = ""
    since = _since(request.GET.get("since", ""))
    qs = public_notices()
    if kind:
        qs = qs.filter(kind=kind)
    if area:
        qs = qs.filter(message__area__slug=area)
    if since:
        start = timezone.make_aware(dt.datetime.combine(since, dt.time.min))
        qs = qs.filter(message__published_at__gte=start)
    page = Paginator(qs, NOTICES_PER_PAGE).get_page(request.GET.get("page"))
    items = []
    for notice in page.object_list:
        version = notice.message.version_for(language)
        if version is not None:
            images = list(notice.message.images.all())
            items.append(
                {"notice": notice, "version": version, "image": images[0] if images else None}
            )
    query = {
        k: v
        for k, v in (("kind", kind), ("area", area), ("since", since.isoformat() if since else ""))
        if v
    }
    return render(
        request,
        "investigations/notice_list.html",
        {
            "page": page,
            "items": items,
            "kinds": NoticeKind.choices,
            "kind": kind,
            "areas": areas,
            "area": area,
            "since": since.isoformat() if since else "",
            "page_query": urlencode(query),
            "language": language,
            "section": "notices",
        },
    )


@require_safe
@public_cache
def notice_detail(request, pk: int):
    notice = (
        Notice.objects.filter(pk=pk)
        .select_related("message", "message__area")
        .prefetch_related("message__versions", "message__images")
        .first()
    )
    if notice is None:
        raise Http404
    if notice.state in CLOSED_STATES:
        # Only the state and date: the notice's text, photos and kind are gone for good.
        return render(
            request,
            "investigations/notice_closed.html",
            {"notice_state": notice.state, "closed_at": notice.resolved_at, "section": "notices"},
            status=410,
        )
    message = notice.message
    if notice.state != NoticeState.ACTIVE or message.state not in PUBLIC_STATES:
        raise Http404
    language = _language()
    version = message.version_for(language)
    if version is None:
        raise Http404
    return render(
        request,
        "investigations/notice_detail.html",
        {
            **comments_context(message, language),
            "notice": notice,
            "message": message,
            "version": version,
            "foreign": version.language != language,
            "images": list(message.images.all()),
            "phone": POLICE_PHONE,
            # The contract URL of the tip form (issue 5): outside the language prefix, so the
            # language travels as ?lang=. Only active notices get here (closed ones are a 410).
            "tip_url": reverse("tips:notice", args=[notice.pk]) + f"?lang={language}",
            "section": "notices",
        },
    )
