"""URLs of the JSON API (spliced in at the root by copps/urls.py).

``/api/v1/...`` the endpoints; ``/api/openapi.json`` (also ``/api/v1/openapi.json``) the
OpenAPI document, public and without any HTML documentation page; every other ``/api/`` path
answers a JSON 404.
"""

from functools import partial

from django.urls import include, path, re_path
from ninja.openapi.views import openapi_json

from .api import api, json_errors, not_found

_patterns, _app_name, _namespace = api.urls
for _pattern in _patterns:
    # 404/405 produced outside ninja's exception handlers would otherwise be HTML.
    _pattern.callback = json_errors(_pattern.callback)

urlpatterns = [
    path("api/v1/", include((_patterns, _app_name), namespace=_namespace)),
    path("api/openapi.json", json_errors(partial(openapi_json, api=api)), name="api-openapi"),
    re_path(r"^api/", not_found),
]
