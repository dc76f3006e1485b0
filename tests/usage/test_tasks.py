"""The usage sync on the task worker (usage/tasks.py): its own schedule, the skip after a
recent good sync, and `manage.py usage_sync`."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from usage.models import UsageSyncRun
from usage.tasks import usage_sync_scheduled

pytestmark = pytest.mark.django_db
FETCHED, FAILED = UsageSyncRun.Part.FETCHED, UsageSyncRun.Part.FAILED


def past_run(seconds_ago: float, usage: str = FETCHED) -> UsageSyncRun:
    started = timezone.now() - timedelta(seconds=seconds_ago)
    return UsageSyncRun.objects.create(
        trigger="scheduled", source="x", since=started.date(), until=started.date(),
        started_at=started, finished_at=started, usage=usage, analytics=FETCHED,
    )  # fmt: skip


def test_crontask_schedules_the_usage_sync_every_usage_interval(settings):
    from crontask import scheduler

    jobs = [job for job in scheduler.get_jobs() if job.name == usage_sync_scheduled.name]
    assert len(jobs) == 1
    (job,) = jobs
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(seconds=settings.USAGE_SYNC_INTERVAL)
    assert settings.USAGE_SYNC_INTERVAL == 3600
    assert job.func == usage_sync_scheduled.enqueue


def test_the_scheduled_sync_skips_after_a_good_one_within_half_an_interval(settings):
    past_run(settings.USAGE_SYNC_INTERVAL / 2 - 30)
    assert usage_sync_scheduled.call() == {"skipped": "synced within the interval"}
    assert UsageSyncRun.objects.count() == 1


def test_a_recent_failure_does_not_stop_the_scheduled_sync(settings):
    past_run(60, usage=FAILED)
    result = usage_sync_scheduled.call()
    run = UsageSyncRun.objects.get(pk=result["sync"])
    assert run.trigger == "scheduled"
    assert result == {"sync": run.pk, "usage": FETCHED, "analytics": FETCHED}


def test_the_worker_runs_the_enqueued_usage_sync():
    usage_sync_scheduled.enqueue()
    (row,) = DBTaskResult.objects.filter(task_path=usage_sync_scheduled.module_path)
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0,
                 stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
    row.refresh_from_db()
    assert row.status == "SUCCESSFUL"
    assert UsageSyncRun.objects.get().usage == FETCHED


def test_the_command_syncs_now_and_says_what_it_fetched_and_what_is_missing(settings):
    settings.FAL_API_URL = ""
    out, err = io.StringIO(), io.StringIO()
    call_command("usage_sync", stdout=out, stderr=err)
    assert "calls to fal" in out.getvalue() and "usage fetched" in out.getvalue()
    assert err.getvalue() == ""


def test_the_command_fails_when_fal_answers_nothing(settings):
    settings.FAL_API_URL = "http://127.0.0.1:9/v1"  # nothing listens there
    settings.FAL_ADMIN_KEY = "admin-key"
    settings.FAL_KEY = "key"
    settings.CATALOG_SYNC_MAX_RETRIES = 0
    settings.FAL_API_TIMEOUT = 1
    err = io.StringIO()
    with pytest.raises(CommandError, match="neither"):
        call_command("usage_sync", stdout=io.StringIO(), stderr=err)
    assert "last good figures stay" in err.getvalue()
