"""The blotter console, mounted at /console/blotter/ (namespace ``blotter_console``)."""

from django.urls import path

from . import console_views as views

app_name = "blotter_console"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("upload", views.upload, name="upload"),
    path("policy", views.policy_edit, name="policy"),
    path("policy/history", views.history, name="history"),
    path("review", views.review_queue, name="review"),
    path("review/<int:pk>/approve", views.review_approve, name="review-approve"),
    path("review/<int:pk>/reject", views.review_reject, name="review-reject"),
    path("incidents", views.incident_list, name="incidents"),
    path("incidents/<int:pk>", views.incident_detail, name="incident"),
]
