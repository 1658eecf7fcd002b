"""The public-order console, mounted at /console/events/ (namespace ``crowd_console``)."""

from django.urls import path

from . import console_views as views

app_name = "crowd_console"

urlpatterns = [
    path("", views.event_list, name="events"),
    path("new", views.event_edit, name="event-new"),
    path("<int:pk>/", views.event_detail, name="event"),
    path("<int:pk>/edit", views.event_edit, name="event-edit"),
    path("<int:pk>/zones/import", views.zone_import, name="zone-import"),
    path("<int:pk>/zones/new", views.zone_edit, name="zone-new"),
    path("<int:pk>/zones/<int:zone_pk>/edit", views.zone_edit, name="zone-edit"),
    path("<int:pk>/zones/<int:zone_pk>/delete", views.zone_delete, name="zone-delete"),
    path("<int:pk>/routes/new", views.route_add, name="route-add"),
    path("<int:pk>/routes/<int:route_pk>/status", views.route_status, name="route-status"),
    path("<int:pk>/sensors/new", views.sensor_add, name="sensor-add"),
    path("<int:pk>/sensors/<int:sensor_pk>/token", views.sensor_rotate, name="sensor-rotate"),
    path("<int:pk>/sensors/<int:sensor_pk>/remove", views.sensor_remove, name="sensor-remove"),
    path("<int:pk>/live/", views.live_view, name="live"),
    path("<int:pk>/live/zones", views.live_zones, name="live-zones"),
    path("<int:pk>/live/alerts", views.live_alerts, name="live-alerts"),
    path("<int:pk>/alerts/<int:alert_pk>/send", views.alert_send, name="alert-send"),
    path("<int:pk>/alerts/<int:alert_pk>/dismiss", views.alert_dismiss, name="alert-dismiss"),
    path("<int:pk>/send", views.event_send, name="event-send"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new", views.template_edit, name="template-new"),
    path("templates/<int:pk>/edit", views.template_edit, name="template-edit"),
    path("templates/<int:pk>/approve", views.template_approve, name="template-approve"),
    path("templates/<int:pk>/active", views.template_active, name="template-active"),
    path("crisis/", views.crisis, name="crisis"),
    path("crisis/pages/new", views.crisis_page_edit, name="crisis-page-new"),
    path("crisis/pages/<int:pk>/edit", views.crisis_page_edit, name="crisis-page-edit"),
    path("crisis/on", views.crisis_on, name="crisis-on"),
    path("crisis/off", views.crisis_off, name="crisis-off"),
    path("crisis/send", views.crisis_send, name="crisis-send"),
]
