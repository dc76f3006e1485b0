"""URL routes of the whole site."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import urls as auth_urls
from django.urls import include, path

from catalog.views import accounts
from config.health import health
from config.throttle import AdminSignInForm

# Both sign-in pages are throttled by django-axes; these forms make attempts take turns.
admin.site.login_form = AdminSignInForm
OURS = {"login", "password_reset", "password_reset_done"}
OURS |= {"password_reset_confirm", "password_reset_complete"}
account_urls = [
    path("login/", accounts.SignInView.as_view(), name="login"),
    # Password reset: 404 unless mail is configured (EMAIL_URL), limited per address.
    path("password_reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password_reset/done/",
        accounts.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        accounts.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    *(pattern for pattern in auth_urls.urlpatterns if pattern.name not in OURS),
]

urlpatterns = [
    # For load balancers and monitors: JSON, 200 or 503, no sign-in (config/health.py).
    path("health/", health, name="health"),
    path("admin/", admin.site.urls),
    path("accounts/", include(account_urls)),
    path("", include("catalog.urls")),
]
