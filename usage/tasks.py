"""The usage sync as a background task, every `USAGE_SYNC_INTERVAL` seconds.

`manage.py crontask` enqueues it (as it does the catalog's sync) and `manage.py db_worker`
runs it; `manage.py usage_sync` runs one at once.
"""

from __future__ import annotations

from apscheduler.triggers.interval import IntervalTrigger
from crontask import cron
from django.conf import settings
from django.tasks import task

from usage.sync import UsageSyncBusy, usage_sync


@cron(IntervalTrigger(seconds=settings.USAGE_SYNC_INTERVAL))
@task
def usage_sync_scheduled() -> dict:
    """The periodic usage sync; skipped when one started within half an interval."""
    try:
        run = usage_sync(
            trigger="scheduled", skip_if_synced_within=settings.USAGE_SYNC_INTERVAL / 2
        )
    except UsageSyncBusy:
        return {"skipped": "another usage sync is running"}
    if run is None:
        return {"skipped": "synced within the interval"}
    return {"sync": run.pk, "usage": run.usage, "analytics": run.analytics}
