"""The page editor in the staff console, mounted at /console/pages/ (namespace ``pages``)."""

from django.urls import path

from copps.inbox import house_rules_views

from . import console_views

app_name = "pages"

urlpatterns = [
    path("", console_views.page_list, name="list"),
    path("preview/", console_views.page_preview, name="preview"),
    # The numbered house rules (copps.inbox): before the page editor's <slug>/<language>/.
    path("house-rules/rules", house_rules_views.rules, name="house-rules"),
    path("<slug:slug>/<str:language>/", console_views.page_edit, name="edit"),
]
