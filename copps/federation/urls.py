"""Fediverse URLs (outside the language prefix: ids must not change with the reader's language)."""

from django.urls import path

from . import views

urlpatterns = [
    path(".well-known/webfinger", views.webfinger, name="webfinger"),
    path(".well-known/host-meta", views.host_meta, name="host-meta"),
    path(".well-known/nodeinfo", views.nodeinfo_links, name="nodeinfo-links"),
    path("nodeinfo/2.1", views.nodeinfo, name="nodeinfo"),
    path("inbox", views.shared_inbox, name="ap-shared-inbox"),
    path("@<slug:username>", views.actor_view, name="ap-actor"),
    path("@<slug:username>/inbox", views.actor_inbox, name="ap-inbox"),
    path("@<slug:username>/outbox", views.outbox, name="ap-outbox"),
    path("@<slug:username>/followers", views.followers, name="ap-followers"),
    path("@<slug:username>/following", views.following, name="ap-following"),
    path("@<slug:username>/posts/<int:pk>", views.note_view, name="ap-note"),
]
