"""The page editor in the staff console, mounted at /console/pages/ (namespace ``pages``)."""

from django.urls import path

from . import console_views

app_name = "pages"

urlpatterns = [
    path("", console_views.page_list, name="list"),
    path("preview/", console_views.page_preview, name="preview"),
    path("<slug:slug>/<str:language>/", console_views.page_edit, name="edit"),
]
