"""`manage.py catalog_history_replay`: lay down the catalog's real history on an empty offline
index (the bundled dated crawls, synced in date order; `catalog_sync` does it by itself on
a fresh offline install)."""

from __future__ import annotations

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from catalog.replay import is_fresh_offline_install


class Command(BaseCommand):
    help = "Replay the bundled dated crawls into an empty offline index."

    def handle(self, *args, **options):
        if not is_fresh_offline_install():
            raise CommandError(
                "The replay needs an empty offline index (FAL_API_URL unset, never synced)."
            )
        started = time.monotonic()
        call_command("catalog_sync", "--quiet", stdout=self.stdout, stderr=self.stderr)
        self.stdout.write(f"in {time.monotonic() - started:.1f} s")
