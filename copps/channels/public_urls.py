"""Public subscription pages (under the language prefix): subscribe, confirm, manage."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
