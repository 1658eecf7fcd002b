"""/console/outbox/: the demo SMTP sink's messages (see outbox_views.py)."""

from django.urls import path

from . import outbox_views

app_name = "outbox"
urlpatterns = [
    path("", outbox_views.outbox_list, name="list"),
    path("<str:name>/", outbox_views.outbox_detail, name="detail"),
    path("<str:name>/html", outbox_views.outbox_html, name="html"),
]
