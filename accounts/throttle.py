"""Sign-in throttling: django-axes, with the parts of it that are ours (see AXES_* in settings).

Axes records failed sign-ins in the database (`axes.AccessAttempt`, one row per username,
address and browser) and refuses a locked client before its password is looked at, on
the site's sign-in page and the admin's alike. Two limits apply: five failures for one
username from one address, and twenty from one address whatever the usernames. Axes
compares one count with one limit (AXES_FAILURE_LIMIT), so the handler below scales the
address's count onto the per-account limit. Unknown usernames count like known ones, so a
locked-out page says nothing about whether an account exists.

Checking and counting are separate steps in axes, so parallel attempts could all pass the
check before any is counted; `SerializedSignInMixin` makes them take turns per address.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from core.locks import atomic_count, cache_lock

ACCOUNT_LIMIT = 5  # failures for one username from one address (AXES_FAILURE_LIMIT)
ADDRESS_LIMIT = 20  # failures from one address, any usernames


def username_key(request: HttpRequest, credentials: dict | None = None) -> str:
    """The username as counted: " MIA" and "mia" are one account to an attacker."""
    if credentials and credentials.get("username") is not None:
        username = credentials["username"]
    else:
        username = request.POST.get("username", "")
    return str(username).strip().casefold()


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind our own proxy the address it appended.

    DJANGO_CLIENT_IP_HEADER (e.g. X-Forwarded-For) names the header our proxy sets; its
    right-most entry is the one the proxy saw, which a client cannot forge.
    """
    header = settings.CLIENT_IP_HEADER
    if header:
        value = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        last = value.split(",")[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR", "")


class SignInHandler(AxesDatabaseHandler):
    """Axes' database handler with a per-address limit beside the per-account one."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        # One count per entry of AXES_LOCKOUT_PARAMETERS: [username + address, address].
        per_account, per_address = (
            qs.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for qs in self.get_user_attempts(request, credentials)
        )
        # Reaching ADDRESS_LIMIT counts as reaching ACCOUNT_LIMIT: a*L // A >= L iff a >= A.
        return max(per_account, per_address * ACCOUNT_LIMIT // ADDRESS_LIMIT)

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        # A success forgives this account's failures only: axes would also clear the
        # address's, letting anyone with one account reset the per-address limit at will.
        count, _ = self.filter_user_attempts(request, credentials)[0].delete()
        return count

    def seconds_locked(self, request, credentials: dict | None = None) -> int:
        """Seconds until the lock ends: the cool-off from the latest counted failure."""
        latest = max(
            (
                qs.aggregate(t=Max("attempt_time"))["t"]
                for qs in self.get_user_attempts(request, credentials)
            ),
            key=lambda t: t or timezone.now(),
            default=None,
        )
        cool_off = get_cool_off(request).total_seconds()
        if latest is None:
            return math.ceil(cool_off)
        return max(1, math.ceil((latest - timezone.now()).total_seconds() + cool_off))


def lockout_response(
    request: HttpRequest, original_response=None, credentials: dict | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: a 429 page in the site's look, with Retry-After."""
    from axes.handlers.proxy import AxesProxyHandler

    handler = AxesProxyHandler.get_implementation()
    seconds = handler.seconds_locked(request, credentials)
    minutes = math.ceil(seconds / 60)
    context = {
        "minutes": minutes,
        "plural": "s" if minutes != 1 else "",
        "password_reset_enabled": settings.PASSWORD_RESET_ENABLED,
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


# --- One attempt at a time per address ---------------------------------------------------------

LOCK_SECONDS = 10  # longer than one password check; a crashed holder frees it by then
WAIT_SECONDS = 15


@contextmanager
def one_at_a_time(request: HttpRequest) -> Iterator[None]:
    """Attempts from one address take turns, so each sees the failures counted before it.

    Without turns, parallel attempts were counted at once, and on SQLite failed with
    "database table is locked". A stuck holder's turn ends after LOCK_SECONDS; a wait
    longer than WAIT_SECONDS goes ahead rather than refuse the sign-in.
    """
    with cache_lock("signin-turn:v1:" + client_ip(request), ttl=LOCK_SECONDS, wait=WAIT_SECONDS):
        yield


# --- Password reset requests -------------------------------------------------------------------

RESET_LIMIT = 5  # reset requests per address per hour
RESET_WINDOW_SECONDS = 60 * 60


def reset_request_allowed(request: HttpRequest) -> bool:
    """Counts this request; False once the address has made RESET_LIMIT within the hour."""
    # v2: the file cache's count is stored with the end of its window (core.locks).
    count = atomic_count("reset-requests:v2:" + client_ip(request), RESET_WINDOW_SECONDS)
    return count <= RESET_LIMIT
