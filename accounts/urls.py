"""Routes of the accounts app: Django's auth views, with our sign-in and password reset."""

from __future__ import annotations

from django.contrib.auth import urls as auth_urls
from django.urls import URLPattern, path

from accounts import views

OURS = {"login", "password_reset", "password_reset_done"}
OURS |= {"password_reset_confirm", "password_reset_complete"}
urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    # Password reset: 404 unless mail is configured (EMAIL_URL), limited per address.
    path("password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password_reset/done/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    *(
        pattern
        for pattern in auth_urls.urlpatterns
        if isinstance(pattern, URLPattern) and pattern.name not in OURS  # all are patterns
    ),
]
