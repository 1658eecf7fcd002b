"""Public subscription pages (under the language prefix): subscribe, confirm, unsubscribe."""

from django.urls import path

from . import public_views as views

app_name = "subscribe"

urlpatterns = [
    path("subscribe/", views.subscribe, name="form"),
    path("subscribe/sent/", views.sent, name="sent"),
    path("subscribe/code/", views.code, name="code"),
    path("subscribe/confirm/<str:token>/", views.confirm, name="confirm"),
    path("subscribe/unsubscribe/", views.unsubscribe_request, name="unsubscribe"),
]
