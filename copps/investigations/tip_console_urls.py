"""The investigator console for tips, mounted at /console/tips/ (namespace ``tip_console``)."""

from django.urls import path

from . import tip_console_views as views

app_name = "tip_console"

urlpatterns = [
    path("", views.tip_list, name="list"),
    path("<int:pk>/", views.tip_detail, name="detail"),
    path("<int:pk>/close", views.tip_close, name="close"),
    path("<int:pk>/export", views.tip_export, name="export"),
]
