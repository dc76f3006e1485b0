"""`manage.py catalog_sync`: sync the catalog index from fal now, with a progress bar."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.changes import kind_counts
from catalog.diff import KINDS
from catalog.models import SyncRun
from catalog.replay import is_fresh_offline_install, replay_history
from catalog.sync import SyncBusy, sync_catalog
from catalog.upstream import data_source


class Command(BaseCommand):
    help = "Sync the catalog index from fal (FAL_API_URL, or the offline snapshot)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--no-history",
            action="store_true",
            help="On a fresh offline install, sync only the snapshot, not its bundled history.",
        )

    def handle(self, *args, quiet: bool = False, no_history: bool = False, **options):
        if not no_history and is_fresh_offline_install():
            self._replay()
            return
        bar = tqdm(desc="Syncing", unit=" models", disable=quiet, leave=False)

        def on_progress(run: SyncRun) -> None:
            bar.set_postfix(
                pages=run.pages, calls=run.upstream_calls, schemas=run.documents_fetched
            )
            bar.update(run.models_seen - bar.n)

        try:
            run = sync_catalog(trigger="command", on_progress=on_progress)
            assert run is not None  # None only with skip_if_synced_within
        except SyncBusy as error:
            raise CommandError(f"{error} Try again when it has finished.") from None
        finally:
            bar.close()
        summary = (
            f"sync {run.pk} from {data_source().label}: {run.models_seen} models, "
            f"{run.pages} pages, {run.upstream_calls} upstream calls, "
            f"{run.documents_fetched} schemas fetched; {run.added} added, "
            f"{run.changed} changed, {run.gone} gone, {run.back} back; "
            f"{run.prices_seen} prices ({run.price_calls} of the calls), "
            f"{run.prices_changed} new or changed"
        )
        if run.state == SyncRun.State.FAILED:
            raise CommandError(f"{summary}. Failed: {run.error}")
        self.stdout.write(self.style.SUCCESS(summary))
        if run.prices_error:
            self.stderr.write(
                f"Prices were not fetched (they stay as last synced): {run.prices_error}"
            )

    def _replay(self) -> None:
        """A fresh offline install starts with the real history: the bundled dated crawls."""

        def on_step(date: str, run: SyncRun) -> None:
            counts = kind_counts(run.changes.all())
            per_kind = ", ".join(f"{counts[k]} {k}" for k in KINDS if counts.get(k))
            self.stdout.write(
                f"history {date}: {run.models_seen} models; {run.added} added, "
                f"{run.changed} changed, {run.gone} gone; {run.changes_recorded} changes"
                + (f" ({per_kind})" if per_kind else "")
            )

        try:
            runs = replay_history(on_step=on_step)
        except SyncBusy as error:
            raise CommandError(f"{error} Try again when it has finished.") from None
        if runs[-1].state == SyncRun.State.FAILED:
            raise CommandError(f"History replay failed: {runs[-1].error}")
        self.stdout.write(self.style.SUCCESS(f"Replayed {len(runs)} dated states of the catalog."))
