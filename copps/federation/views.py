"""The public fediverse endpoints: discovery (WebFinger, NodeInfo, host-meta), actors, their
collections and posts, and the inboxes.

Actor and post URLs answer browsers with HTML and servers with ActivityStreams JSON (content
negotiation on Accept, ``Vary: Accept``), so the address people share works for both.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

import copps
from copps.newsroom.models import Message
from copps.newsroom.workflow import PUBLIC_STATES, State

from . import activities, ids, inbox
from .models import Actor, FollowState

AS_TYPES = [
    "text/html",
    "application/activity+json",
    # ActivityPub's own spelling; Django matches a parameter only when offered with it.
    'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    "application/ld+json",
    "application/json",
]
JRD = "application/jrd+json"
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"
OUTBOX_PAGE = 20


def wants_json(request: HttpRequest) -> bool:
    """True when the client prefers ActivityStreams JSON to HTML."""
    preferred = request.get_preferred_type(AS_TYPES)
    return preferred is not None and preferred != "text/html"


def as_json(data: dict, *, status: int = 200, content_type: str = activities.ACTIVITY_JSON):
    response = JsonResponse(data, status=status, content_type=content_type)
    response["Access-Control-Allow-Origin"] = "*"
    patch_vary_headers(response, ["Accept"])
    return response


def _actor_or_404(username: str) -> Actor:
    return get_object_or_404(Actor, username=username, enabled=True)


# Discovery ---------------------------------------------------------------------------------


def _known_domains(request: HttpRequest) -> set[str]:
    domains = {ids.domain()}
    from django.core.exceptions import DisallowedHost

    with contextlib.suppress(DisallowedHost):  # a disallowed Host simply does not count
        domains.add(request.get_host().lower())
    return domains


@require_safe
def webfinger(request: HttpRequest) -> HttpResponse:
    """``?resource=acct:name@host`` (or the actor's URL) -> a JRD linking the actor."""
    resource = unquote(request.GET.get("resource", "")).strip()
    if not resource:
        return JsonResponse({"error": "the resource parameter is required"}, status=400)
    username = None
    if resource.startswith(("acct:", "@")) or ("@" in resource and "://" not in resource):
        name, _, host = resource.removeprefix("acct:").lstrip("@").partition("@")
        if host.lower() in _known_domains(request):
            username = name
    else:
        username = ids.local_username(resource)
    actor = Actor.objects.filter(username=username, enabled=True).first() if username else None
    if actor is None:
        return JsonResponse({"error": "no such account here"}, status=404)
    actor_url = ids.actor(actor.username)
    data: dict[str, Any] = {
        "subject": f"acct:{actor.username}@{ids.domain()}",
        "aliases": [actor_url],
        "links": [
            {"rel": "self", "type": activities.ACTIVITY_JSON, "href": actor_url},
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": actor_url,
            },
        ],
    }
    if actor.avatar:
        data["links"].append(
            {
                "rel": "http://webfinger.net/rel/avatar",
                "href": settings.SITE_URL + actor.avatar.url,
            }
        )
    # JRD is WebFinger's own type; a client that asks for ActivityStreams JSON gets that label.
    preferred = request.get_preferred_type([JRD, "application/json", activities.ACTIVITY_JSON])
    return as_json(
        data, content_type=preferred if preferred in (activities.ACTIVITY_JSON,) else JRD
    )


@require_safe
def host_meta(request: HttpRequest) -> HttpResponse:
    template = ids.base() + "/.well-known/webfinger?resource={uri}"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{template}"/>\n'
        "</XRD>\n"
    )
    return HttpResponse(body, content_type="application/xrd+xml")


@require_safe
def nodeinfo_links(request: HttpRequest) -> HttpResponse:
    return as_json(
        {"links": [{"rel": NODEINFO_SCHEMA, "href": ids.base() + "/nodeinfo/2.1"}]},
        content_type="application/json",
    )


@require_safe
@cache_control(public=True, max_age=1800)
def nodeinfo(request: HttpRequest) -> HttpResponse:
    actors = Actor.objects.filter(enabled=True)
    from copps.channels.models import Delivery

    posts = (
        Delivery.objects.filter(
            channel__kind="activitypub", operation="post", message__state__in=PUBLIC_STATES
        )
        .values("message_id")
        .distinct()
    )
    return as_json(
        {
            "version": "2.1",
            "software": {
                "name": "copps",
                "version": getattr(copps, "__version__", "0"),
                "repository": "https://github.com/copps/copps",
                "homepage": ids.base(),
            },
            "protocols": ["activitypub"],
            "services": {"inbound": [], "outbound": ["rss2.0", "atom1.0"]},
            "openRegistrations": False,
            "usage": {"users": {"total": actors.count()}, "localPosts": posts.count()},
            "metadata": {"nodeName": settings.FORCE_NAME},
        },
        content_type=f'application/json; profile="{NODEINFO_SCHEMA}#"',
    )


# Actors and their collections ----------------------------------------------------------------


def _actor_messages(actor: Actor):
    from copps.channels.models import Delivery

    # What this actor actually posted: the messages with a post delivery on its channel.
    posted = Delivery.objects.filter(channel=actor.channel, operation="post").values("message_id")
    return (
        Message.objects.filter(pk__in=posted, state__in=PUBLIC_STATES)
        .prefetch_related("versions", "images")
        .order_by("-published_at", "-pk")
    )


@require_safe
def actor_view(request: HttpRequest, username: str) -> HttpResponse:
    actor = _actor_or_404(username)
    if wants_json(request):
        return as_json(activities.actor_document(actor))
    language = request.GET.get("lang", "")
    if language not in dict(settings.LANGUAGES):
        language = translation.get_language() or settings.LANGUAGE_CODE
    messages = _actor_messages(actor)
    tag = request.GET.get("tag", "").strip().lstrip("#")[:60]
    if tag:
        messages = messages.filter(versions__body__icontains=f"#{tag}").distinct()
    page = Paginator(messages, 10).get_page(request.GET.get("page"))
    items = []
    for message in page:
        version = message.version_for(language) or message.primary_version()
        if version is not None:
            items.append(
                {
                    "message": message,
                    "version": version,
                    "url": message.permalink_path(version.language),
                    "foreign": version.language != language,
                }
            )
    links = activities.profile_links(actor)
    with translation.override(language):
        response = render(
            request,
            "federation/profile.html",
            {
                "actor": actor,
                "handle": f"@{actor.username}@{ids.domain()}",
                "actor_url": ids.actor(actor.username),
                "followers": actor.followers.filter(state=FollowState.ACCEPTED).count(),
                "page": page,
                "items": items,
                "links": links,
                "tag": tag,
                "language_urls": {
                    code: f"/@{actor.username}?lang={code}" for code, _ in settings.LANGUAGES
                },
            },
        )
    patch_vary_headers(response, ["Accept", "Accept-Language"])
    response["Cache-Control"] = "public, max-age=60"
    return response


def _collection(url: str, total: int) -> dict:
    return {
        "@context": activities.AS,
        "id": url,
        "type": "OrderedCollection",
        "totalItems": total,
    }


@require_safe
def outbox(request: HttpRequest, username: str) -> HttpResponse:
    actor = _actor_or_404(username)
    messages = _actor_messages(actor)
    url = ids.outbox(username)
    if "page" not in request.GET:
        data = _collection(url, messages.count())
        data["first"] = f"{url}?page=1"
        return as_json(data)
    page = Paginator(messages, OUTBOX_PAGE).get_page(request.GET.get("page"))
    items = []
    for message in page:
        obj = activities.note(message, actor)
        activity = activities.create(username, message.pk, obj)
        activity.pop("@context")
        items.append(activity)
    data = {
        "@context": activities.CONTEXT,
        "id": f"{url}?page={page.number}",
        "type": "OrderedCollectionPage",
        "partOf": url,
        "orderedItems": items,
    }
    if page.has_next():
        data["next"] = f"{url}?page={page.next_page_number()}"
    if page.has_previous():
        data["prev"] = f"{url}?page={page.previous_page_number()}"
    return as_json(data)


@require_safe
def followers(request: HttpRequest, username: str) -> HttpResponse:
    """The count only: who follows the police is nobody else's business."""
    actor = _actor_or_404(username)
    total = actor.followers.filter(state=FollowState.ACCEPTED).count()
    return as_json(_collection(ids.followers(username), total))


@require_safe
def following(request: HttpRequest, username: str) -> HttpResponse:
    actor = _actor_or_404(username)
    total = actor.following.filter(state=FollowState.ACCEPTED).count()
    return as_json(_collection(ids.following(username), total))


@require_safe
def note_view(request: HttpRequest, username: str, pk: int) -> HttpResponse:
    """A post's id: the Note for servers (a Tombstone once retracted), the page for people."""
    actor = _actor_or_404(username)
    message = Message.objects.filter(pk=pk).first()
    if message is None or not _posted_ids(actor, pk).exists():
        raise Http404
    if message.state == State.RETRACTED:
        if wants_json(request):
            return as_json(activities.tombstone(username, pk, message.retracted_at), status=410)
        return redirect(message.permalink_path())
    if message.state not in PUBLIC_STATES and message.state != State.EXPIRED:
        raise Http404
    if wants_json(request):
        data = activities.note(message, actor)
        data = {"@context": activities.CONTEXT, **data}
        return as_json(data)
    return redirect(message.permalink_path())


def _posted_ids(actor: Actor, pk: int):
    from copps.channels.models import Delivery

    return Delivery.objects.filter(
        channel=actor.channel, message_id=pk, operation="post"
    ).values_list("message_id", flat=True)


# Inboxes -------------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def actor_inbox(request: HttpRequest, username: str) -> HttpResponse:
    _actor_or_404(username)
    return inbox.receive(request, username)


@csrf_exempt
@require_POST
def shared_inbox(request: HttpRequest) -> HttpResponse:
    return inbox.receive(request)
