"""Request types for views behind ``@login_required``.

``HttpRequest.user`` is ``User | AnonymousUser``; behind ``@login_required`` it is always a
signed-in ``User``. Annotating such a view's ``request`` as ``AuthenticatedHttpRequest`` tells the
type checker so (the pattern django-stubs documents). It adds nothing at run time.
"""

from django.http import HttpRequest

from .models import User


class AuthenticatedHttpRequest(HttpRequest):
    """An ``HttpRequest`` whose ``user`` is a signed-in ``User`` (only for annotations)."""

    user: User
