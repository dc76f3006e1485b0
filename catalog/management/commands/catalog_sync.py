"""`manage.py catalog_sync`: sync the catalog index from fal now, with a progress bar."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.models import SyncRun
from catalog.sync import SyncBusy, sync_catalog
from catalog.upstream import data_source


class Command(BaseCommand):
    help = "Sync the catalog index from fal (FAL_API_URL, or the offline snapshot)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args, quiet: bool = False, **options):
        bar = tqdm(desc="Syncing", unit=" models", disable=quiet, leave=False)

        def on_progress(run: SyncRun) -> None:
            bar.set_postfix(
                pages=run.pages, calls=run.upstream_calls, schemas=run.documents_fetched
            )
            bar.update(run.models_seen - bar.n)

        try:
            run = sync_catalog(trigger="command", on_progress=on_progress)
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
