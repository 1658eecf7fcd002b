from django.urls import include, path

from . import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("", include("copps.newsroom.urls")),
]
