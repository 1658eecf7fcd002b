from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/code/", views.login_code, name="login-code"),
    path("logout/", views.logout_view, name="logout"),
    path("password/", views.password_change, name="password"),
    path("2fa/setup/", views.twofa_setup, name="2fa-setup"),
    path("2fa/verify/", views.twofa_verify, name="2fa-verify"),
    path("2fa/disable/", views.twofa_disable, name="2fa-disable"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("users/", views.users, name="users"),
    path("users/new/", views.user_new, name="user-new"),
    path("users/<int:pk>/", views.user_detail, name="user"),
    path("users/<int:pk>/active/", views.user_set_active, name="user-active"),
    path("users/<int:pk>/reset-2fa/", views.user_reset_2fa, name="user-reset-2fa"),
]
