"""One-click unsubscribe (RFC 8058): GET shows a confirmation button, POST unsubscribes.

The view is exempt from CSRF: mail providers send the one-click POST
(``List-Unsubscribe=One-Click``) without any cookie or token. The unforgeable token in the URL
(an HMAC with the subscription's own secret) is the protection; without it the row stays.
"""

from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import subscriptions as subs

T = "channels/subscribe/"


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    subscription = subs.subscription_for_token(token[:200])
    if subscription is None:
        # Forged, mistyped, or already used (the row is gone): a friendly 404.
        return render(request, T + "unsubscribe_unknown.html", status=404)
    with translation.override(subscription.language):
        if request.method == "GET":
            return render(
                request, T + "unsubscribe.html", {"token": token, "medium": subscription.medium}
            )
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        subs.unsubscribe(subscription, how="one-click" if one_click else "link")
        return render(request, T + "unsubscribed.html")
