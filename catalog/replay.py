"""The catalog's real history on a fresh offline install: the bundled dated crawls, synced in
date order, so the first /changes/ a newcomer opens shows what really changed.

The bundled crawls (fal_emulator/data/history/, provenance in the README there) are
per-category crawls that lack image-to-image (and, in January, image-to-text and
workflow; in June, text-to-text): each sync is told which categories its crawl covered, so
an endpoint missing from a crawl that did not list its category is not taken for gone.
The last state is the 2026-08-10 snapshot, whose documents are earlier crawls': its sync
stores them but reads no schema changes out of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from catalog import upstream
from catalog.models import CatalogEntry, SyncRun
from catalog.sync import CrawlFacts, sync_catalog
from fal_emulator import dated_emulator, history_dates, load_state


def is_fresh_offline_install() -> bool:
    """Offline, and never synced: the replay may lay down the history."""
    return (
        not upstream.data_source().live
        and not SyncRun.objects.exists()
        and not CatalogEntry.objects.exists()
    )


def replay_history(*, on_step: Callable[[str, SyncRun], None] | None = None) -> list[SyncRun]:
    """Sync every bundled date, oldest first, each dated as its crawl; returns the runs.

    Stops at the first failed run (the index is then as of the last good one)."""
    runs: list[SyncRun] = []
    for date in history_dates():
        state = load_state(date)
        facts = CrawlFacts(
            categories=state.categories,
            documents_dated=state.documents_dated,
            # A dated crawl's documents change without its entries: fetch them all.
            all_documents=state.documents_dated,
            as_of=datetime.fromisoformat(state.recorded_at.replace("Z", "+00:00")),
        )
        with upstream.offline_source(dated_emulator(date)):
            run = sync_catalog(trigger=f"history {date}", facts=facts)
        assert run is not None  # None only with skip_if_synced_within
        runs.append(run)
        if on_step is not None:
            on_step(date, run)
        if run.state != SyncRun.State.SUCCEEDED:
            break
    return runs
