"""The notices console, mounted at /console/notices/ (namespace ``notice_console``)."""

from django.urls import path

from . import console_views as views

app_name = "notice_console"

urlpatterns = [
    path("", views.notice_list, name="list"),
    path("new", views.notice_new, name="new"),
    path("<int:pk>/", views.notice_detail, name="detail"),
    path("<int:pk>/edit", views.notice_edit, name="edit"),
    path("<int:pk>/authorisation", views.authorisation_add, name="authorise"),
    path("<int:pk>/submit", views.notice_submit, name="submit"),
    path("<int:pk>/resolve", views.notice_resolve, name="resolve"),
]
