"""The watches' background work: after each successful sync, the check and the deliveries;
every few minutes, the deliveries whose retry has come (crontask loads this module)."""

from __future__ import annotations

from apscheduler.triggers.interval import IntervalTrigger
from crontask import cron
from django.db import transaction
from django.tasks import task

from watches.delivery import deliver_due
from watches.models import Watch
from watches.services import watches_check

RETRY_EVERY = 60  # seconds between sweeps for deliveries whose retry has come


@task
def deliver_watches() -> dict:
    """What every watch has heard of since it last looked, delivered."""
    made = watches_check()
    return {"notifications": made, **deliver_due()}


@cron(IntervalTrigger(seconds=RETRY_EVERY))
@task
def deliver_watches_retries() -> dict:
    return deliver_due()


def after_sync(sender, run, **kwargs) -> None:
    """catalog.signals.sync_finished: a sync that recorded changes enqueues the delivery
    (when anyone watches anything), once its transaction, if any, commits."""
    if run.changes_recorded and Watch.objects.exists():
        transaction.on_commit(deliver_watches.enqueue)
