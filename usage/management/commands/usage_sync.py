"""`manage.py usage_sync`: fetch the team's last 90 days of usage and analytics from fal now."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from usage.models import UsageSyncRun
from usage.sync import UsageSyncBusy, usage_sync


class Command(BaseCommand):
    help = "Sync the team's usage and analytics of the last 90 days (FAL_API_URL, or the emulator)."

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            run = usage_sync(trigger="command")
            assert run is not None  # None only with skip_if_synced_within
        except UsageSyncBusy as error:
            raise CommandError(f"{error} Try again when it has finished.") from None
        summary = (
            f"usage sync {run.pk} from {run.source}, {run.since} to {run.until} (exclusive): "
            f"{run.upstream_calls} calls to fal in {time.monotonic() - started:.1f} s; "
            f"usage {run.usage} ({run.usage_lines} lines), analytics {run.analytics} "
            f"({run.endpoints_used} of {run.endpoints_asked} endpoints used)"
        )
        self.stdout.write(self.style.SUCCESS(summary))
        for part, why in (("Usage", run.usage_error), ("Analytics", run.analytics_error)):
            if why:
                self.stderr.write(f"{part}: {why} The last good figures stay.")
        failed = UsageSyncRun.Part.FAILED
        if run.usage == failed and run.analytics == failed:
            raise CommandError("fal answered neither usage nor analytics.")
