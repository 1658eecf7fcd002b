"""URL patterns (filled in by the part of issue 5 that owns them)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
