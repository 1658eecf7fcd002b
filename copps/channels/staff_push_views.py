"""Staff web push in the console (under /console/channels/me/push/): thin views over
``staff_push.py``.

- ``GET  me/push/`` -> the page: turn alerts on or off in this browser (script), the browsers
  that receive them, and a form that stops them on all (works without JavaScript);
- ``POST me/push/subscribe`` (JSON {"subscription": PushSubscription}, CSRF in ``X-CSRFToken``)
  -> 201/200 {"status": "subscribed"};
- ``POST me/push/unsubscribe`` (JSON {"endpoint"}) -> 200, whether or not it was the user's;
- ``POST me/push/stop`` (form) -> all the user's browsers stop; back to the page.

Signed-in console users only (``console_view``). Every refusal is a 4xx with {"error",
"field"}; never a 500.
"""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from copps.newsroom.views import console_view

from . import push, staff_push
from .models import StaffPushSubscription
from .push_views import _error, _json_body

MAX_BROWSERS = 10  # per user: a phone, a desktop or two; more is a script


@require_safe
@console_view
def page(request) -> HttpResponse:
    subs = list(StaffPushSubscription.objects.filter(user=request.user).order_by("created_at"))
    return render(
        request,
        "channels/push/staff.html",
        {
            "public_key": push.public_key_for(),
            "subscriptions": subs,
            "endpoints": [s.endpoint for s in subs],
        },
    )


@require_POST
@console_view
def subscribe(request) -> HttpResponse:
    data = _json_body(request)
    if isinstance(data, HttpResponse):
        return data
    if not staff_push.available():
        return _error(_("Browser notifications are not available."), 404)
    subscription = data.get("subscription") if isinstance(data, dict) else None
    if not isinstance(subscription, dict):
        return _error(_("The push subscription is missing."), 400, "subscription")
    try:
        endpoint = push.clean_endpoint(subscription.get("endpoint"))
        p256dh, auth = push.clean_keys(subscription.get("keys"))
        mine = StaffPushSubscription.objects.filter(user=request.user)
        if mine.count() >= MAX_BROWSERS and not mine.filter(endpoint=endpoint).exists():
            raise push.PushInputError(
                _("Alerts are on in %(n)d browsers already; stop one first.") % {"n": MAX_BROWSERS}
            )
        _sub, created = staff_push.enable(request.user, endpoint=endpoint, p256dh=p256dh, auth=auth)
    except push.PushInputError as exc:
        return _error(exc.message, 400, exc.field)
    return JsonResponse({"status": "subscribed"}, status=201 if created else 200)


@require_POST
@console_view
def unsubscribe(request: HttpRequest) -> HttpResponse:
    data = _json_body(request)
    if isinstance(data, HttpResponse):
        return data
    try:
        endpoint = push.parse_unsubscribe(data)
    except push.PushInputError as exc:
        return _error(exc.message, 400, exc.field)
    staff_push.disable(request.user, endpoint)
    return JsonResponse({"status": "unsubscribed"})


@require_POST
@console_view
def stop(request: HttpRequest) -> HttpResponse:
    count = staff_push.disable_all(request.user)
    if count:
        flash.success(request, _("Alerts by browser notification are off in all your browsers."))
    return redirect("channel_console:staff-push")
