"""The channel console, mounted at /console/channels/ (namespace ``channel_console``)."""

from django.urls import path

from . import console_views as views
from . import staff_push_views

app_name = "channel_console"

urlpatterns = [
    path("", views.channel_list, name="list"),
    path("me/push/", staff_push_views.page, name="staff-push"),
    path("me/push/subscribe", staff_push_views.subscribe, name="staff-push-subscribe"),
    path("me/push/unsubscribe", staff_push_views.unsubscribe, name="staff-push-unsubscribe"),
    path("me/push/stop", staff_push_views.stop, name="staff-push-stop"),
    path("new/", views.channel_new, name="new"),
    path("new/<slug:kind>/", views.channel_create, name="create"),
    path("alerts/<int:pk>/acknowledge", views.alert_acknowledge, name="alert-acknowledge"),
    path("deliveries/message/<int:pk>/", views.message_deliveries, name="message-deliveries"),
    path("deliveries/<int:pk>/<slug:resolution>", views.delivery_resolve, name="delivery-resolve"),
    path("<slug:slug>/edit/", views.channel_edit, name="edit"),
    path("<slug:slug>/test", views.channel_test, name="test"),
    path("<slug:slug>/enabled", views.channel_enabled, name="enabled"),
    path("<slug:slug>/resume", views.channel_resume, name="resume"),
    path("<slug:slug>/sandbox/", views.sandbox_view, name="sandbox"),
]
