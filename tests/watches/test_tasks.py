"""The watches' tasks (watches.tasks): a sync that recorded changes enqueues the delivery
when anyone watches anything, nothing otherwise; the scheduler sweeps for retries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from django_tasks_db.models import DBTaskResult

from catalog.models import SyncRun
from catalog.signals import sync_finished
from watches.services import watch_create
from watches.tasks import RETRY_EVERY, deliver_watches, deliver_watches_retries

pytestmark = pytest.mark.django_db


def enqueued() -> int:
    return DBTaskResult.objects.filter(task_path=deliver_watches.module_path).count()


def finish(changes: int, capture) -> None:
    run = SyncRun.objects.create(state="succeeded", trigger="test", changes_recorded=changes)
    with capture(execute=True):
        sync_finished.send(sender=SyncRun, run=run)


def test_a_sync_with_changes_enqueues_one_delivery_when_something_is_watched(
    member, django_capture_on_commit_callbacks
):
    finish(3, django_capture_on_commit_callbacks)
    assert enqueued() == 0  # nothing is watched
    watch_create(owner=member, name="v", subject="search", query="?q=video")
    finish(0, django_capture_on_commit_callbacks)
    assert enqueued() == 0  # nothing changed
    finish(3, django_capture_on_commit_callbacks)
    assert enqueued() == 1


def test_the_scheduler_sweeps_for_retries_every_minute():
    from crontask import scheduler

    (job,) = [j for j in scheduler.get_jobs() if j.name == deliver_watches_retries.name]
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(seconds=RETRY_EVERY)
    assert job.func == deliver_watches_retries.enqueue
