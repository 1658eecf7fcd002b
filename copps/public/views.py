"""The public site: the force's home base. Server-rendered, no JavaScript needed."""

from datetime import timedelta

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from copps.newsroom.models import Kind, Message
from copps.newsroom.workflow import PUBLIC_STATES, State

from .models import Page


def public_messages(language: str | None = None):
    qs = Message.objects.filter(state__in=PUBLIC_STATES).prefetch_related("versions", "images")
    if language:
        qs = qs.filter(versions__language=language).distinct()
    return qs.order_by("-published_at", "-pk")


@require_safe
def root(request):
    return redirect(f"/{get_language() or settings.LANGUAGE_CODE}/")


@require_safe
def home(request):
    language = get_language()
    latest = list(public_messages(language)[:6]) or list(public_messages()[:6])
    return render(request, "public/home.html", {"latest": latest, "language": language})


@require_safe
def news_list(request):
    language = get_language()
    qs = public_messages(None if request.GET.get("all") else language)
    kind = request.GET.get("kind", "")
    if kind in Kind.values:
        qs = qs.filter(kind=kind)
    else:
        kind = ""
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "public/news_list.html",
        {"page": page, "kind": kind, "kinds": Kind.choices, "language": language},
    )


@require_safe
def message_detail(request, pk: int, slug: str = ""):
    message = (
        Message.objects.filter(pk=pk).prefetch_related("versions", "images", "audiences").first()
    )
    if message is None or message.state not in (*PUBLIC_STATES, State.RETRACTED, State.EXPIRED):
        raise Http404
    language = get_language()
    version = message.version_for(language)
    canonical = message.permalink_path(version.language)
    if request.path != canonical:
        return HttpResponsePermanentRedirect(canonical)
    status = 410 if message.state == State.RETRACTED else 200
    return render(
        request,
        "public/message_detail.html",
        {"message": message, "version": version, "other_versions": [
            v for v in message.versions_list() if v.language != version.language
        ]},
        status=status,
    )


@require_safe
def short_link(request, pk: int):
    message = Message.objects.filter(pk=pk, state__in=(*PUBLIC_STATES, State.RETRACTED, State.EXPIRED)).first()
    if message is None:
        raise Http404
    return redirect(message.permalink_path(get_language_from_request_or_default(request)))


def get_language_from_request_or_default(request) -> str:
    from django.utils.translation import get_language_from_request

    return get_language_from_request(request) or settings.LANGUAGE_CODE


@require_safe
def page(request, slug: str):
    if slug not in Page.Slug.values:
        raise Http404
    language = get_language()
    pages = {p.language: p for p in Page.objects.filter(slug=slug)}
    page = pages.get(language) or pages.get(settings.LANGUAGE_CODE) or next(iter(pages.values()), None)
    if page is None:
        raise Http404
    return render(request, "public/page.html", {"page": page})


@require_safe
@cache_control(no_store=True)
def healthz(request):
    """200 when the database answers and a worker reported within COPPS_WORKER_STALE_SECONDS."""
    from copps.worker.models import Heartbeat

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    fresh = timezone.now() - timedelta(seconds=settings.COPPS_WORKER_STALE_SECONDS)
    worker_ok = Heartbeat.objects.filter(seen_at__gte=fresh).exists()
    body = {"status": "ok" if worker_ok else "degraded", "database": "ok",
            "worker": "ok" if worker_ok else "missing"}
    return JsonResponse(body, status=200 if worker_ok else 503)


def robots(request):
    return HttpResponse("User-agent: *\nDisallow: /console/\nDisallow: /accounts/\n", content_type="text/plain")
