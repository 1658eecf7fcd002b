"""The public blotter page, under the language prefix: ``/<lang>/blotter/``."""

from django.urls import path

from . import public_views as views

app_name = "blotter"

urlpatterns = [
    path("blotter/", views.blotter, name="list"),
]
