"""Anonymous tips on the public site (outside the language prefix, as the contract names them)."""

from django.urls import path

from . import tip_views

app_name = "tips"

urlpatterns = [
    path("tips/new", tip_views.tip_new, name="new"),
    path("tips/follow-up", tip_views.follow_up, name="follow-up"),
    path("notices/<int:pk>/tip", tip_views.notice_tip, name="notice"),
]
