"""Background syncs (catalog.tasks): requests enqueued on django-tasks-db, run by its worker,
the scheduled sync that skips a recent success, and the crontask schedule."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from catalog import services
from catalog.models import SyncRun
from catalog.tasks import sync_catalog_now, sync_catalog_scheduled

pytestmark = pytest.mark.django_db
SUCCEEDED = SyncRun.State.SUCCEEDED


def request_sync(capture, trigger: str = "staff") -> bool:
    """`catalog_sync_request`, with its on-commit enqueue run as a commit would."""
    with capture(execute=True):
        return services.catalog_sync_request(trigger=trigger)


def queued() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=sync_catalog_now.module_path))


def run_worker() -> None:
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0,
                 stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip


def last_success_started(seconds_ago: float) -> None:
    SyncRun.objects.update(started_at=timezone.now() - timedelta(seconds=seconds_ago))


# --- Requests ----------------------------------------------------------------------------------


def test_a_request_enqueues_the_sync_on_the_database_backend(django_capture_on_commit_callbacks):
    assert request_sync(django_capture_on_commit_callbacks, "staff") is True
    (row,) = queued()
    assert row.status == TaskResultStatus.READY
    assert row.backend_name == "default" and row.queue_name == "default"
    assert row.args_kwargs == {"args": [], "kwargs": {"trigger": "staff"}}


def test_the_request_is_enqueued_only_when_the_transaction_commits(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.catalog_sync_request(trigger="staff") is True
    assert len(callbacks) == 1 and queued() == []


def test_a_second_request_while_one_waits_enqueues_nothing(django_capture_on_commit_callbacks):
    assert request_sync(django_capture_on_commit_callbacks) is True
    assert request_sync(django_capture_on_commit_callbacks) is False
    assert len(queued()) == 1


def test_no_request_is_enqueued_while_a_sync_runs(django_capture_on_commit_callbacks):
    running = SyncRun.objects.create(trigger="elsewhere")
    assert services.catalog_sync_running() == running
    assert request_sync(django_capture_on_commit_callbacks) is False
    assert queued() == []


def test_the_worker_performs_the_requested_sync(django_capture_on_commit_callbacks):
    before = set(SyncRun.objects.values_list("pk", flat=True))
    request_sync(django_capture_on_commit_callbacks, "staff")

    run_worker()

    (run,) = SyncRun.objects.exclude(pk__in=before)
    assert run.state == SUCCEEDED and run.trigger == "staff" and run.models_seen == 1434
    (row,) = queued()
    assert row.status == TaskResultStatus.SUCCESSFUL
    assert row.return_value == {"sync": run.pk, "state": "succeeded", "error": ""}
    # Done, so no longer waiting: the next request enqueues again.
    assert request_sync(django_capture_on_commit_callbacks) is True


def test_a_requested_sync_skips_while_another_runs():
    SyncRun.objects.create(trigger="elsewhere")
    assert sync_catalog_now.call(trigger="staff") == {"skipped": "another sync is running"}
    assert not SyncRun.objects.filter(trigger="staff").exists()


# --- The schedule ------------------------------------------------------------------------------


def test_the_scheduled_sync_skips_after_a_success_within_half_an_interval(settings):
    last_success_started(settings.CATALOG_SYNC_INTERVAL / 2 - 30)
    count = SyncRun.objects.count()
    assert sync_catalog_scheduled.call() == {"skipped": "synced within the interval"}
    assert SyncRun.objects.count() == count


def test_the_scheduled_sync_runs_when_the_last_success_is_older(settings):
    last_success_started(settings.CATALOG_SYNC_INTERVAL / 2 + 30)
    result = sync_catalog_scheduled.call()
    run = SyncRun.objects.get(pk=result["sync"])
    assert run.state == SUCCEEDED and run.trigger == "scheduled"
    assert result == {"sync": run.pk, "state": "succeeded", "error": ""}


def test_a_recent_failed_sync_does_not_stop_the_scheduled_one(settings):
    last_success_started(settings.CATALOG_SYNC_INTERVAL)
    SyncRun.objects.create(state=SyncRun.State.FAILED, trigger="scheduled", error="down")
    result = sync_catalog_scheduled.call()
    assert result["state"] == "succeeded"


def test_crontask_schedules_the_sync_every_interval(settings):
    from crontask import scheduler

    jobs = [job for job in scheduler.get_jobs() if job.name == sync_catalog_scheduled.name]
    assert len(jobs) == 1
    (job,) = jobs
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(seconds=settings.CATALOG_SYNC_INTERVAL)
    assert job.func == sync_catalog_scheduled.enqueue


def test_a_waiting_scheduled_sync_does_not_stop_a_requested_one(django_capture_on_commit_callbacks):
    # The scheduled one may skip itself (a sync within half an interval): "Sync now" runs.
    sync_catalog_scheduled.enqueue()
    assert request_sync(django_capture_on_commit_callbacks) is True
    assert len(queued()) == 1
