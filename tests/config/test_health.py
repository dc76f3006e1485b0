"""/health/: database, cache, task backend and the age of the last good sync, as JSON with
200 or 503, for load balancers and monitors that carry no session; a stale usage sync only
makes it "degraded"."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.tasks import TaskResultStatus
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from catalog.models import SyncRun
from catalog.tasks import sync_catalog_now
from usage.models import UsageSyncRun

pytestmark = pytest.mark.django_db
FETCHED, MISSING, FAILED = (
    UsageSyncRun.Part.FETCHED,
    UsageSyncRun.Part.MISSING,
    UsageSyncRun.Part.FAILED,
)


def usage_run(finished_ago: timedelta, usage=FETCHED, analytics=FETCHED) -> UsageSyncRun:
    today = timezone.now().date()
    return UsageSyncRun.objects.create(
        trigger="t", source="x", since=today - timedelta(days=90), until=today,
        finished_at=timezone.now() - finished_ago, usage=usage, analytics=analytics,
    )  # fmt: skip


@pytest.fixture(autouse=True)
def usage_synced():
    return usage_run(timedelta(minutes=5))


def health(client, **headers):
    response = client.get("/health/", headers=headers)
    assert response["Content-Type"] == "application/json"
    return response, json.loads(response.content)


def test_a_synced_site_is_healthy_without_a_session(client):
    # The session's one sync may be older than the limit by now (the suite takes a while).
    SyncRun.objects.filter(state=SyncRun.State.SUCCEEDED).update(finished_at=timezone.now())
    response, body = health(client)
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "tasks", "catalog_sync", "usage_sync"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    # Each check's time to the millisecond (a float in JSON, even when it rounds to 0.0).
    assert all(isinstance(check["seconds"], float) for check in body["checks"].values())
    sync = body["checks"]["catalog_sync"]
    assert 0 <= sync["last_success_seconds"] < 600
    assert sync["max_age_seconds"] == 3 * 600
    usage = body["checks"]["usage_sync"]
    assert 300 <= usage["last_success_seconds"] < 900
    assert usage["max_age_seconds"] == 3 * 3600
    assert "no-cache" in response["Cache-Control"]


def test_json_whatever_the_monitor_accepts(client):
    for accept in ("text/html", "text/plain", "nonsense", ""):
        response, body = health(client, accept=accept)
        assert response.status_code == 200 and body["status"] == "ok"


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_a_write_method_is_a_405_in_json_not_the_csrf_page(method):
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)("/health/")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "GET, HEAD"
    assert json.loads(response.content)["error"] == "Method not allowed: use GET, HEAD."


def test_a_sync_older_than_the_limit_is_a_503(client, settings):
    SyncRun.objects.update(finished_at=timezone.now() - timedelta(seconds=3 * 600 + 5))
    response, body = health(client)
    assert response.status_code == 503
    assert body["status"] == "unhealthy"
    assert body["checks"]["catalog_sync"]["status"] == "fail"
    assert body["checks"]["database"]["status"] == "ok"
    # The limit is a setting of its own.
    settings.CATALOG_HEALTH_MAX_SYNC_AGE = 4 * 600
    assert health(client)[0].status_code == 200


def test_only_a_failed_last_sync_is_not_healthy_either(client):
    SyncRun.objects.all().delete()
    SyncRun.objects.create(state=SyncRun.State.FAILED, finished_at=timezone.now(), error="x")
    response, body = health(client)
    assert response.status_code == 503
    assert body["checks"]["catalog_sync"]["reason"] == "no successful sync yet"


def test_a_task_waiting_past_the_limit_means_no_worker(client):
    sync_catalog_now.enqueue()
    response, body = health(client)
    assert response.status_code == 200
    assert body["checks"]["tasks"]["oldest_ready_seconds"] < 60
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(
        enqueued_at=timezone.now() - timedelta(hours=1)
    )
    response, body = health(client)
    assert response.status_code == 503
    assert body["checks"]["tasks"]["status"] == "fail"
    assert body["checks"]["tasks"]["oldest_ready_seconds"] >= 3600


def test_an_unreachable_database_says_so_without_the_drivers_words(client, monkeypatch):
    secret = "password=hunter2 host=db.internal"

    def broken(*args, **kwargs):
        raise DatabaseError(f"connection failed: {secret}")

    monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", broken)
    response, body = health(client)
    assert response.status_code == 503
    assert body["checks"]["database"] == {
        "status": "fail",
        "reason": "failed",
        "seconds": body["checks"]["database"]["seconds"],
    }
    assert "hunter2" not in response.content.decode()
    assert "db.internal" not in response.content.decode()


def test_a_usage_sync_older_than_the_limit_warns_but_keeps_the_site_in_rotation(client, settings):
    UsageSyncRun.objects.update(finished_at=timezone.now() - timedelta(hours=3, seconds=5))
    usage_run(timedelta(minutes=1), usage=FAILED, analytics=FAILED)  # fal failing since
    response, body = health(client)
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["usage_sync"]["status"] == "warn"
    assert body["checks"]["usage_sync"]["reason"] == (
        "last successful usage sync is older than the limit"
    )
    assert body["checks"]["catalog_sync"]["status"] == "ok"
    # Three of the usage sync's own intervals.
    settings.USAGE_SYNC_INTERVAL = 2 * 3600
    assert health(client)[1]["status"] == "ok"


def test_a_site_that_never_synced_usage_is_degraded_and_a_failing_catalog_still_wins(client):
    UsageSyncRun.objects.all().delete()
    response, body = health(client)
    assert (response.status_code, body["status"]) == (200, "degraded")
    assert body["checks"]["usage_sync"]["reason"] == "no successful usage sync yet"
    SyncRun.objects.all().delete()
    response, body = health(client)
    assert (response.status_code, body["status"]) == (503, "unhealthy")


def test_no_key_to_sync_usage_with_is_not_a_warning(client):
    UsageSyncRun.objects.all().delete()
    usage_run(timedelta(days=30), usage=MISSING, analytics=MISSING)
    response, body = health(client)
    assert (response.status_code, body["status"]) == (200, "ok")
    assert body["checks"]["usage_sync"]["configured"] is False
    # A key set since: the next run fetched nothing yet, so there is no good run at all.
    usage_run(timedelta(minutes=1), usage=FAILED, analytics=MISSING)
    assert health(client)[1]["checks"]["usage_sync"]["status"] == "warn"
