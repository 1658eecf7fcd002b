"""The inbox console, mounted at /console/inbox/ (namespace ``inbox_console``)."""

from django.urls import path

from . import console_views as views

app_name = "inbox_console"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("alerts", views.alerts, name="alerts"),
    path("alerts/<int:pk>/acknowledge", views.alert_acknowledge, name="acknowledge"),
    path("duty", views.duty_toggle, name="duty"),
    path("<int:pk>/", views.conversation, name="conversation"),
    path("<int:pk>/reply", views.conversation_reply, name="reply"),
    path("<int:pk>/note", views.conversation_note, name="note"),
    path("<int:pk>/triage", views.conversation_triage, name="triage"),
    path("entries/<int:pk>/moderate", views.entry_moderate, name="moderate"),
    path("attachments/<int:pk>", views.attachment_download, name="attachment"),
]
