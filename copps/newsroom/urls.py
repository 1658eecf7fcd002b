"""Console urls for messages; included by copps/console/urls.py, so names are ``console:*``."""

from django.urls import path

from . import views

urlpatterns = [
    path("messages/", views.message_list, name="message-list"),
    path("messages/new", views.message_new, name="message-new"),
    path("messages/check", views.message_check, name="message-check"),
    path("messages/<int:pk>/", views.message_detail, name="message-detail"),
    path("messages/<int:pk>/edit", views.message_edit, name="message-edit"),
    path("messages/<int:pk>/check", views.message_check, name="message-check-existing"),
    path("messages/<int:pk>/images", views.image_add, name="message-image-add"),
    path(
        "messages/<int:pk>/images/<int:image_pk>/remove",
        views.image_remove,
        name="message-image-remove",
    ),
    path("messages/<int:pk>/video", views.video_set, name="message-video-set"),
    path("messages/<int:pk>/video/remove", views.video_remove, name="message-video-remove"),
    path("messages/<int:pk>/<slug:action>", views.message_action, name="message-action"),
    path("corrections/<int:pk>/approve", views.correction_approve, name="correction-approve"),
    path("corrections/<int:pk>/reject", views.correction_reject, name="correction-reject"),
    path("review/", views.review_queue, name="review"),
    path("guidelines/", views.word_lists, name="guidelines"),
]
