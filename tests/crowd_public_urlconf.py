"""``copps.urls`` plus the public crowd pages, until ``copps/urls.py`` includes
``copps.crowd.public_urls`` itself (then this adds nothing). Used by tests/test_crowd_public.py,
its browser test and bench/public_load.py (``BENCH_ROOT_URLCONF``)."""

from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path

from copps.urls import urlpatterns as base


def _included(patterns, module: str) -> bool:
    for pattern in patterns:
        name = getattr(pattern, "urlconf_name", None)
        if name == module or getattr(name, "__name__", "") == module:
            return True
        if isinstance(name, list | tuple) and _included(name, module):
            return True
    return False


urlpatterns = list(base)
if not _included(base, "copps.crowd.public_urls"):
    urlpatterns += i18n_patterns(
        path("", include("copps.crowd.public_urls")), prefix_default_language=True
    )
