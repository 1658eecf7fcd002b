from django.urls import path

from . import views

app_name = "public"

urlpatterns = [
    path("", views.home, name="home"),
    path("news/", views.news_list, name="news"),
    path("news/<int:pk>-<slug:slug>/", views.message_detail, name="detail"),
    path("news/<int:pk>/", views.message_detail, name="detail-noslug"),
    path("pages/<slug:slug>/", views.page, name="page"),
]
