"""Public comments: the form (two steps, see comment_views) and the author's status page."""

from django.urls import path

from . import comment_views

app_name = "comments"

urlpatterns = [
    path("on/<int:pk>/", comment_views.new, name="new"),
    path("<str:token>", comment_views.status, name="status"),
]
