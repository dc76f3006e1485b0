"""The sign-in forms of the site and the admin: each attempt takes its turn (accounts.throttle)."""

from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from accounts.throttle import one_at_a_time


class SerializedSignInMixin:
    """For AuthenticationForm and its subclasses: the check, password and count in one turn."""

    def clean(self):
        with one_at_a_time(self.request):
            return super().clean()


class SignInForm(SerializedSignInMixin, AuthenticationForm):
    pass


class AdminSignInForm(SerializedSignInMixin, AdminAuthenticationForm):
    pass
