"""Background work on Django's tasks framework: the catalog sync, on demand and on a schedule.

`manage.py db_worker` runs the tasks (django-tasks-db, on the app's database);
`manage.py crontask` enqueues the scheduled sync every CATALOG_SYNC_INTERVAL seconds
(with REDIS_URL, one scheduler runs however many are started). Two workers may still
receive overlapping syncs: the sync's own lock lets one run and the other skip.
"""

from __future__ import annotations

from apscheduler.triggers.interval import IntervalTrigger
from crontask import cron
from django.conf import settings
from django.tasks import task

from catalog.sync import SyncBusy, sync_catalog


def _run(trigger: str, skip_if_synced_within: float = 0) -> dict:
    try:
        run = sync_catalog(trigger=trigger, skip_if_synced_within=skip_if_synced_within)
    except SyncBusy:
        return {"skipped": "another sync is running"}
    if run is None:
        return {"skipped": "synced within the interval"}
    return {"sync": run.pk, "state": run.state, "error": run.error}


@task
def sync_catalog_now(trigger: str = "requested") -> dict:
    """A sync someone asked for (the staff button, a first visit to an empty index)."""
    return _run(trigger)


@cron(IntervalTrigger(seconds=settings.CATALOG_SYNC_INTERVAL))
@task
def sync_catalog_scheduled() -> dict:
    """The periodic sync; skipped when a successful sync started within half an interval."""
    return _run("scheduled", skip_if_synced_within=settings.CATALOG_SYNC_INTERVAL / 2)
