"""Web push (under /push/): the VAPID public key, subscribe, unsubscribe, the service worker."""

from django.urls import path

from . import push_views

app_name = "push"

urlpatterns = [
    path("key/", push_views.public_key, name="key"),
    path("subscribe/", push_views.subscribe, name="subscribe"),
    path("unsubscribe/", push_views.unsubscribe, name="unsubscribe"),
    path("sw.js", push_views.service_worker, name="service-worker"),
]
