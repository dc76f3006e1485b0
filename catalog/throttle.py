"""Sign-in throttling: after five failed attempts for one username from one address, signing
in as that username from that address is refused for fifteen minutes.

Counts live in Django's cache, so every process sharing it (the file cache on one
machine, Redis across machines) sees the same counts. The check comes before the
password is looked at, and treats unknown usernames like known ones, so a locked-out
form says nothing about whether an account exists. Used by the site's sign-in page and
the admin's (see config/urls.py). Behind a proxy that does not pass the client address,
every visitor shares one address: the limit is then per username.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


def _key(request: HttpRequest | None, username: str) -> str:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    who = f"{username.strip().casefold()}\n{address}".encode()
    return "signin-throttle:v1:" + hashlib.sha256(who).hexdigest()


def locked_seconds(request: HttpRequest | None, username: str) -> int:
    """Seconds until this username may try again from this address; 0 if it may now."""
    entry = cache.get(_key(request, username))
    if entry is None or entry[0] < MAX_FAILURES:
        return 0
    return max(1, math.ceil(entry[1] + WINDOW_SECONDS - time.time()))


def record_failure(request: HttpRequest | None, username: str) -> None:
    key = _key(request, username)
    failures, started = cache.get(key) or (0, time.time())
    remaining = started + WINDOW_SECONDS - time.time()
    if remaining <= 0:  # the window is over: this failure starts a new one
        failures, started, remaining = 0, time.time(), WINDOW_SECONDS
    cache.set(key, (failures + 1, started), timeout=math.ceil(remaining))


def forget(request: HttpRequest | None, username: str) -> None:
    cache.delete(_key(request, username))


def locked_message(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return (
        "Too many failed sign-in attempts for this account. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


class ThrottledFormMixin:
    """For AuthenticationForm and its subclasses: refuse while locked, count failures."""

    locked_for = 0

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        self.locked_for = locked_seconds(self.request, username)
        if self.locked_for:
            raise ValidationError(locked_message(self.locked_for), code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError as error:
            if any(e.code == "invalid_login" for e in error.error_list):
                record_failure(self.request, username)
            raise
        forget(self.request, username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledFormMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledFormMixin, AdminAuthenticationForm):
    pass


class ThrottledLoginView(LoginView):
    """Django's sign-in view with the throttled form; a locked-out attempt is a 429."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form) -> HttpResponse:
        response = super().form_invalid(form)
        if form.locked_for:
            response.status_code = 429
            response["Retry-After"] = str(form.locked_for)
        return response
