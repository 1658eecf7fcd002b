"""The listening console, mounted at /console/listening/ (namespace ``listening_console``)."""

from django.urls import path

from . import console_views as views
from . import dashboard_views, source_views

app_name = "listening_console"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("purposes/new", views.purpose_edit, name="purpose-new"),
    path("purposes/<int:pk>", views.purpose_detail, name="purpose"),
    path("purposes/<int:pk>/edit", views.purpose_edit, name="purpose-edit"),
    path("purposes/<int:purpose_pk>/watches/new", views.watch_edit, name="watch-new"),
    path("watches/<int:pk>", views.watch_results, name="watch"),
    path("watches/<int:pk>/edit", views.watch_edit, name="watch-edit"),
    path("watches/<int:pk>/dashboard", dashboard_views.dashboard, name="dashboard"),
    path("watches/<int:pk>/places.geojson", dashboard_views.places_map, name="places"),
    path("alerts/<int:pk>/acknowledge", dashboard_views.alert_acknowledge, name="alert-ack"),
    path("try", views.try_query, name="try"),
    path("sources/", source_views.source_list, name="sources"),
    path("sources/new", source_views.source_kinds, name="source-new"),
    path("sources/new/<str:kind>", source_views.source_edit, name="source-create"),
    path("sources/<int:pk>/edit", source_views.source_edit, name="source-edit"),
    path("sources/<int:pk>/enabled", source_views.source_enabled, name="source-enabled"),
    path("sources/<int:pk>/poll", source_views.source_poll, name="source-poll"),
    path("sources/<int:pk>/token", source_views.source_token, name="source-token"),
    path("sources/<int:pk>/import", source_views.source_import, name="source-import"),
]
