"""Text-to-police SMS: Kannel's sms-service hook (``/hooks/sms/kannel``)."""

from django.urls import URLPattern, path

from . import sms_views

urlpatterns: list[URLPattern] = [
    path("kannel", sms_views.kannel, name="sms-hook-kannel"),
]
