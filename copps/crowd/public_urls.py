"""The public crowd pages, under the language prefix: ``/<lang>/events/`` and
``/<lang>/events/<slug>/`` (included by ``copps.urls`` inside ``i18n_patterns``)."""

from django.urls import path

from . import public as views

app_name = "crowd_public"

urlpatterns = [
    path("events/", views.event_index, name="index"),
    path("events/<slug:slug>/", views.event_page, name="event"),
]
