"""Callbacks from SMS gateways (under /channels/sms/): delivery reports and inbound texts."""

from django.urls import path

from . import sms_views

urlpatterns = [
    path("dlr/<int:recipient_id>/<str:mac>/", sms_views.dlr, name="sms-dlr"),
    path("report/", sms_views.report, name="sms-report"),
    path("inbound/", sms_views.inbound, name="sms-inbound"),
]
