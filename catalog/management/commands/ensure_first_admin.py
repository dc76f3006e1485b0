"""Create a local admin with a random password, printed once, when no user exists yet."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "On a fresh local database, create an 'admin' superuser and print its password once."

    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION:
            self.stdout.write("Production settings: no account created (use createsuperuser).")
            return
        User = get_user_model()  # noqa: N806
        if User.objects.exists():
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username="admin", email="", password=password)
        self.stdout.write(
            self.style.SUCCESS(
                "Created the first account. Sign in with\n"
                f"    username: admin\n    password: {password}\n"
                "This password is shown only now; change it in the admin."
            )
        )
