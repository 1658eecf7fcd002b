"""Inbound listening webhooks; included by copps/urls.py under ``hooks/listening/``."""

from django.urls import path

from copps.listening.sources import webhook

urlpatterns = [
    path("<int:source_id>/<str:token>", webhook.receive, name="listening-hook"),
]
