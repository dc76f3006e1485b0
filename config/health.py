"""`/health/` for load balancers and monitors: database, cache, task backend, catalog sync,
and the team's usage sync.

Built on django-health-check (its check runner with a timeout per check, and its database
and cache checks), with three checks of our own and one JSON answer: 200 when every check
passes, 503 when any fails. The usage sync only warns: without fresh usage figures every
page still works (showing the last good ones, dated), so the site stays in rotation (200)
and the answer says "degraded". Unauthenticated, so it says only what a monitor needs:
check names, "ok" or a fixed reason, and ages in seconds — never an error text from a driver
(which may name a host or a user), a setting's value or an upstream string.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from typing import ClassVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import HealthCheckException, ServiceUnavailable, ServiceWarning
from health_check.views import HealthCheckView


def _age(moment: datetime | None) -> int | None:
    return None if moment is None else max(0, int((timezone.now() - moment).total_seconds()))


def max_sync_age() -> int:
    """Seconds since the last good sync past which the site is unhealthy."""
    return settings.CATALOG_HEALTH_MAX_SYNC_AGE or 3 * settings.CATALOG_SYNC_INTERVAL


@dataclasses.dataclass
class OwnCheck(HealthCheck):
    """A check of ours: `probe` queries through sync_to_async (thread-sensitive: the
    request's own thread and database connection, so a health probe opens no connection
    per check thread), fills `details`, and raises `problem` with a fixed reason."""

    only_warns: ClassVar[bool] = False  # a failure leaves the site serving: "degraded", 200

    def __post_init__(self) -> None:
        self.details: dict = {}

    @property
    def problem(self) -> type[HealthCheckException]:
        return ServiceWarning if self.only_warns else ServiceUnavailable

    def probe(self) -> None:
        raise NotImplementedError

    def require_recent(self, finished: datetime | None, limit: int, sync: str) -> None:
        """The last good `sync` finished at most `limit` seconds ago."""
        age = _age(finished)
        self.details.update(last_success_seconds=age, max_age_seconds=limit)
        if age is None:
            raise self.problem(f"no successful {sync} yet")
        if age > limit:
            raise self.problem(f"last successful {sync} is older than the limit")

    async def run(self) -> None:
        await sync_to_async(self.probe)()


@dataclasses.dataclass
class TaskBackend(OwnCheck):
    """The task queue's table (django-tasks-db) answers; a task waiting past the sync age
    limit means no worker is taking tasks."""

    def probe(self) -> None:
        from django.tasks import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        try:
            oldest = (
                DBTaskResult.objects.filter(status=TaskResultStatus.READY)
                .order_by("enqueued_at")
                .values_list("enqueued_at", flat=True)
                .first()
            )
        except DatabaseError as error:
            raise self.problem("task table unreachable") from error
        self.details["oldest_ready_seconds"] = waited = _age(oldest)
        if waited is not None and waited > max_sync_age():
            raise self.problem("a task has waited past the limit: is a worker running?")


@dataclasses.dataclass
class CatalogSync(OwnCheck):
    """The last successful sync of the catalog index is recent enough.

    Offline (no FAL_API_URL) the same rule holds: the scheduler syncs the bundled snapshot
    like fal, so an old last sync means the worker or the scheduler is not running there
    either.
    """

    def probe(self) -> None:
        from catalog.models import SyncRun

        try:
            finished = SyncRun.objects.last_success_at()
        except DatabaseError as error:
            raise self.problem("sync runs unreachable") from error
        self.require_recent(finished, max_sync_age(), "sync")


@dataclasses.dataclass
class UsageSync(OwnCheck):
    """The last usage sync that fetched anything finished within three sync intervals. A
    site with no key to ask fal with (the last run had nothing to fetch) has nothing to
    sync: that is not a warning."""

    only_warns = True

    def probe(self) -> None:
        from usage.models import UsageSyncRun
        from usage.selectors import good_runs_filter

        runs = UsageSyncRun.objects.filter(finished_at__isnull=False).order_by("-pk")
        try:
            latest = runs.values("usage", "analytics").first()
            finished = runs.filter(good_runs_filter()).values_list("finished_at", flat=True).first()
        except DatabaseError as error:
            raise self.problem("usage sync runs unreachable") from error
        missing = UsageSyncRun.Part.MISSING
        if latest and latest["usage"] == latest["analytics"] == missing:
            self.details["configured"] = False
            return
        self.require_recent(finished, 3 * settings.USAGE_SYNC_INTERVAL, "usage sync")


CHECKS = {
    "database": Database,
    "cache": Cache,
    "tasks": TaskBackend,
    "catalog_sync": CatalogSync,
    "usage_sync": UsageSync,
}


class HealthView(HealthCheckView):
    """Always JSON (whatever Accept says), 503 when a check fails."""

    checks = tuple(CHECKS.values())
    http_method_names = ["get", "head"]

    async def get(self, request, *args, **kwargs):
        # The library's own get() also picks a format from Accept; a monitor gets JSON.
        with self.get_executor() as executor:
            self.results = await asyncio.gather(
                *(check.get_result(executor) for check in self.get_checks())
            )
        names = {check: name for name, check in CHECKS.items()}
        body: dict = {"status": "ok", "checks": {}}
        for result in self.results:
            entry = {"status": "ok"}
            if result.error is not None:
                ours = isinstance(result.check, OwnCheck)
                warns = ours and result.check.only_warns
                if not warns:
                    body["status"] = "unhealthy"
                elif body["status"] == "ok":
                    body["status"] = "degraded"
                # Our checks' messages are fixed strings; the library's database check
                # passes on the driver's message, which may name a host: leave it out.
                entry = {
                    "status": "warn" if warns else "fail",
                    "reason": result.error.message if ours else "failed",
                }
            entry.update(getattr(result.check, "details", {}))
            entry["seconds"] = round(result.time_taken, 3)
            body["checks"][names[type(result.check)]] = entry
        return JsonResponse(body, status=503 if body["status"] == "unhealthy" else 200)

    def http_method_not_allowed(self, request, *args, **kwargs):
        """A monitor that POSTs gets JSON too, not a page."""
        allowed = ", ".join(m.upper() for m in self.http_method_names)
        body = {"status": "error", "error": f"Method not allowed: use {allowed}."}
        response = JsonResponse(body, status=405, headers={"Allow": allowed})

        async def answer() -> JsonResponse:  # the view is async (get is): so is this answer
            return response

        return answer()


# No session, and nothing it does changes state: CSRF's page would only hide the 405.
health = csrf_exempt(login_not_required(HealthView.as_view()))
