"""copps.urls with the public-order console mounted, until copps/urls.py includes it.

Tests use it with ``settings.ROOT_URLCONF``; once the lead adds the include, this module adds
nothing (it checks for the namespace first).
"""

from django.urls import URLResolver, include, path

from copps.urls import urlpatterns as base

MOUNTED = any(isinstance(p, URLResolver) and p.namespace == "crowd_console" for p in base)

urlpatterns = (
    list(base) if MOUNTED else [path("console/events/", include("copps.crowd.console_urls")), *base]
)
