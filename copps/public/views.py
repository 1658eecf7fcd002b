"""The public site: the force's home base. Server-rendered, no JavaScript, no cookies.

Contracts kept stable for other apps and outside links:

- permalinks ``/<lang>/news/<id>-<slug>/`` (``Message.permalink_path``) and short links ``/m/<id>``;
- only published or corrected messages are listed; a retracted message answers 410 with a notice
  and none of its text; an expired one keeps its page with a note that it is no longer current;
  every other state (draft, submitted, approved, scheduled) is a 404, as if it did not exist;
- public pages carry ``Cache-Control: public, max-age=60`` and never touch the session or the CSRF
  cookie, so a shared cache may keep them and readers are not tracked.
"""

from datetime import timedelta

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.utils.translation import get_language, get_language_from_request
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from copps.newsroom.models import CONTENT_LANGUAGES, Kind, Message, MessageVersion
from copps.newsroom.workflow import PUBLIC_STATES, State

from .models import Page

# Public pages may sit in a shared cache for a minute: a crowded mobile network then asks us
# once a minute, not once per reader. Never used on anything that depends on who is asking.
public_cache = cache_control(public=True, max_age=60)

# States whose permalink still answers (with a notice) after the message left the lists.
LINKABLE_STATES = (*PUBLIC_STATES, State.RETRACTED, State.EXPIRED)
NEWS_PER_PAGE = 20
HOME_LATEST = 7


def public_messages(language: str | None = None, *, now=None):
    """Messages the public may see, newest first, with their versions prefetched.

    ``language`` keeps only messages that have a version in that language. A message whose
    expiry time has passed is left out even before the worker marks it expired.
    """
    now = now or timezone.now()
    qs = (
        Message.objects.filter(state__in=PUBLIC_STATES)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("area")
        .prefetch_related("versions")
    )
    if language:
        # EXISTS instead of a join + DISTINCT: the paginator's COUNT stays cheap.
        qs = qs.filter(
            Exists(MessageVersion.objects.filter(message=OuterRef("pk"), language=language))
        )
    return qs.order_by("-published_at", "-pk")


def _current_language() -> str:
    language = get_language() or settings.LANGUAGE_CODE
    return language if language in CONTENT_LANGUAGES else settings.LANGUAGE_CODE


@require_safe
def root(request):
    """``/`` -> the home page in the reader's language (Accept-Language), else the default."""
    language = get_language_from_request(request) or settings.LANGUAGE_CODE
    return redirect(f"/{language}/")


@require_safe
def home(request):
    """The latest news, or the crisis front page while crisis mode is on (copps.crowd.public).

    Cached for COPPS_PUBLIC_CROWD_MAX_AGE seconds only (not a minute): switching crisis mode on
    or off must reach readers, and shared caches, within seconds.
    """
    from copps.crowd.public import crisis_front, crisis_state

    crisis = crisis_state()
    if crisis is not None:
        return crisis_front(request, crisis)
    language = _current_language()
    latest = list(public_messages(language)[:HOME_LATEST])
    in_other_languages = False
    if not latest:
        # A language the force rarely writes in (German, say): show what there is.
        latest = list(public_messages()[:HOME_LATEST])
        in_other_languages = bool(latest)
    response = render(
        request,
        "public/home.html",
        {
            "items": message_items(latest, language),
            "in_other_languages": in_other_languages,
        },
    )
    patch_cache_control(response, public=True, max_age=settings.COPPS_PUBLIC_CROWD_MAX_AGE)
    return response


@require_safe
@public_cache
def news_list(request):
    """The news archive. ``?kind=`` narrows it, ``?all=1`` adds messages in other languages.

    Unknown or hostile parameter values are ignored, never an error.
    """
    language = _current_language()
    all_languages = request.GET.get("all") == "1"
    kind = request.GET.get("kind", "")
    if kind not in Kind.values:
        kind = ""
    qs = public_messages(None if all_languages else language)
    if kind:
        qs = qs.filter(kind=kind)
    page = Paginator(qs, NEWS_PER_PAGE).get_page(request.GET.get("page"))
    # Page links carry only the cleaned filter values, never what the request made up.
    base_query = {k: v for k, v in (("kind", kind), ("all", "1" if all_languages else "")) if v}
    return render(
        request,
        "public/news_list.html",
        {
            "page": page,
            "items": message_items(page.object_list, language),
            "kind": kind,
            "kinds": Kind.choices,
            "all_languages": all_languages,
            "page_query": urlencode(base_query),
        },
    )


def message_items(messages, language: str) -> list[dict]:
    """Pair each message with the version to show in ``language`` (or its first version)."""
    items = []
    for message in messages:
        version = message.version_for(language)
        if version is None:
            continue
        items.append(
            {
                "message": message,
                "version": version,
                "url": _localised_path(message, version, language),
                "foreign": version.language != language,
            }
        )
    return items


def _localised_path(message: Message, version: MessageVersion, language: str) -> str:
    """The permalink of ``version`` under the ``language`` interface prefix.

    A message without a version in the reader's language is shown in another one, but the
    reader keeps the interface in their own language: same slug, their prefix.
    """
    canonical = message.permalink_path(version.language)
    if version.language == language:
        return canonical
    return f"/{language}/" + canonical.split("/", 2)[2]


@require_safe
@public_cache
def message_detail(request, pk: int, slug: str = ""):
    message = (
        Message.objects.filter(pk=pk, state__in=LINKABLE_STATES)
        .select_related("area")
        .prefetch_related("versions", "images")
        .first()
    )
    if message is None:
        raise Http404
    language = _current_language()
    if message.state == State.RETRACTED:
        # No redirect to the canonical slug: that would repeat the withdrawn title.
        return render(
            request,
            "public/message_detail.html",
            {"message": message, "retracted": True, "section": "news"},
            status=410,
        )
    version = message.version_for(language)
    if version is None:
        raise Http404
    path = _localised_path(message, version, language)
    if request.path != path:
        return HttpResponsePermanentRedirect(path)
    versions = message.versions_list()
    now = timezone.now()
    expired = message.state == State.EXPIRED or bool(
        message.expires_at and message.expires_at <= now
    )
    images = list(message.images.all())
    return render(
        request,
        "public/message_detail.html",
        {
            **comments_context(message, language),
            "message": message,
            "version": version,
            "images": images,
            "expired": expired,
            "foreign": version.language != language,
            "canonical_url": message.permalink(version.language),
            "other_versions": [
                {"version": v, "url": message.permalink_path(v.language)}
                for v in versions
                if v.language != version.language
            ],
            "alternates": [
                {"language": v.language, "url": message.permalink(v.language)} for v in versions
            ],
            # The language switcher goes straight to the matching version where there is one.
            "language_urls": {v.language: message.permalink_path(v.language) for v in versions},
            "og_image": settings.SITE_URL + images[0].file.url if images else "",
            "section": "news",
        },
    )


def comments_context(message: Message, language: str) -> dict:
    """The comment thread and form under a message (copps.inbox.comments)."""
    from copps.inbox.comment_forms import CommentForm
    from copps.inbox.comments import context_for

    return {**context_for(message), "comment_form": CommentForm(initial={"language": language})}


@require_safe
def short_link(request, pk: int):
    """``/m/<id>`` -> the permalink in the reader's language (or the message's first one)."""
    message = (
        Message.objects.filter(pk=pk, state__in=LINKABLE_STATES)
        .prefetch_related("versions")
        .first()
    )
    if message is None:
        raise Http404
    language = get_language_from_request(request) or settings.LANGUAGE_CODE
    if message.state == State.RETRACTED:
        return redirect(f"/{language}/news/{message.pk}/")
    version = message.version_for(language)
    if version is None:
        raise Http404
    return redirect(message.permalink_path(version.language))


@require_safe
@public_cache
def page(request, slug: str):
    """An editable page (house rules, privacy statement, ...) in the reader's language.

    Falls back to the default language, then to any language the page exists in.
    """
    if slug not in Page.Slug.values:
        raise Http404
    language = _current_language()
    pages = {p.language: p for p in Page.objects.filter(slug=slug)}
    found = pages.get(language) or pages.get(settings.LANGUAGE_CODE)
    if found is None and pages:
        found = pages[sorted(pages, key=CONTENT_LANGUAGES.index)[0]]
    if found is None:
        raise Http404
    context = {"page": found, "foreign": found.language != language}
    if slug == Page.Slug.HOUSE_RULES:
        # The numbered rules moderators cite (#rule-<n>), under the page text.
        from copps.inbox.house_rules import active_rules

        context["house_rules"] = list(active_rules())
    return render(request, "public/page.html", context)


@require_safe
@cache_control(no_store=True)
def healthz(request):
    """200 when the database answers and a worker reported within COPPS_WORKER_STALE_SECONDS.

    503 otherwise, with a JSON body naming what is wrong (for load balancers and monitoring).
    """
    from copps.worker.models import Heartbeat

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    fresh = timezone.now() - timedelta(seconds=settings.COPPS_WORKER_STALE_SECONDS)
    worker_ok = Heartbeat.objects.filter(seen_at__gte=fresh).exists()
    body = {
        "status": "ok" if worker_ok else "degraded",
        "database": "ok",
        "worker": "ok" if worker_ok else "missing",
    }
    return JsonResponse(body, status=200 if worker_ok else 503)


@require_safe
def robots(request):
    return HttpResponse(
        "User-agent: *\nDisallow: /console/\nDisallow: /accounts/\nDisallow: /api/\n",
        content_type="text/plain",
    )
