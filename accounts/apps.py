"""The accounts app: permission caches follow who-has-what; the admin signs in in turns too."""

from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from django.contrib import admin

        from accounts.forms import AdminSignInForm
        from accounts.permissions import connect_signals

        connect_signals()
        # Both sign-in pages are throttled by django-axes; this form makes attempts take turns.
        admin.site.login_form = AdminSignInForm
