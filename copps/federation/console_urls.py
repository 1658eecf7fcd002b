"""The fediverse console, mounted at /console/fediverse/ (namespace ``fediverse``)."""

from django.urls import path

from . import console_views as views

app_name = "fediverse"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("accounts/new/", views.actor_create, name="actor-create"),
    path("accounts/<slug:username>/", views.actor_edit, name="actor-edit"),
    path("accounts/<slug:username>/followers/", views.followers, name="followers"),
    path(
        "accounts/<slug:username>/followers/<int:pk>/<slug:decision>",
        views.follower_decide,
        name="follower-decide",
    ),
    path("accounts/<slug:username>/follow", views.follow, name="follow"),
    path("accounts/<slug:username>/following/<int:pk>/unfollow", views.unfollow, name="unfollow"),
    path("posts/<int:pk>/", views.message_deliveries, name="message-deliveries"),
    path("servers/<int:pk>/reset", views.server_reset, name="server-reset"),
    path("blocks/", views.block_list, name="blocks"),
    path("blocks/add", views.block_add, name="block-add"),
    path("blocks/import", views.block_import, name="block-import"),
    path("blocks/<int:pk>/remove", views.block_remove, name="block-remove"),
    path("moderation/", views.moderation, name="moderation"),
    path("moderation/<int:pk>/<slug:decision>", views.item_decide, name="item-decide"),
    path("reports/", views.reports, name="reports"),
    path("reports/<int:pk>/resolve", views.report_resolve, name="report-resolve"),
]
