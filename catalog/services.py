"""The one door from views to the catalog: the index, one model, documents, the sync.

Views read the catalog index through here and never reach fal themselves: typing and
filtering cost fal nothing. fal is asked only for an endpoint the index lacks
(`catalog_model_find_or_add`), once, and by the sync, which runs as a background task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from catalog import index as catalog_index_module
from catalog.index import CatalogIndex
from catalog.models import SyncRun
from catalog.upstream import DataSource, data_source
from fal.types import Estimate, ExpansionError, Model
from usage import selectors as usage_selectors
from usage.figures import TeamUsage

__all__ = [
    "DataSource",
    "Freshness",
    "SyncFailure",
    "catalog_documents",
    "catalog_estimate",
    "catalog_freshness",
    "catalog_index",
    "catalog_model_find_or_add",
    "catalog_sync_request",
    "catalog_sync_running",
    "data_source",
    "team_usage",
]


def catalog_index() -> CatalogIndex:
    """The index as of now (see catalog.index)."""
    return catalog_index_module.catalog_index()


def team_usage() -> TeamUsage:
    """The team's last 30 days as of the latest usage sync (usage.selectors): its run's id
    comes with the catalog's state, so a page that reads the index pays nothing more."""
    return usage_selectors.team_usage(catalog_index_module.catalog_state().usage_run_id)


def catalog_model_find_or_add(
    endpoint_id: str, *, index: CatalogIndex | None = None
) -> Model | None:
    """One model from the index; for an id the index lacks, fal's find mode is asked once
    and the model it finds is written to the index (one row, as the sync writes it).
    Raises FalAPIError when fal cannot answer that question."""
    from catalog.sync import sync_endpoint

    index = index or catalog_index()
    model = index.get(endpoint_id)
    if model is None and not index.empty and sync_endpoint(endpoint_id):
        model = catalog_index().get(endpoint_id)
    return model


def catalog_documents(endpoint_ids: list[str]) -> dict[str, dict[str, Any] | ExpansionError]:
    """Stored OpenAPI documents (or fal's expansion errors) by endpoint id."""
    return catalog_index_module.documents(endpoint_ids)


def catalog_estimate(*, endpoint_id: str, unit_quantity: float) -> Estimate:
    """fal's total for `unit_quantity` of the endpoint's billing unit (never computed here).

    Raises FalAPIError when fal cannot answer, ValueError when there is no key to ask with.
    """
    from catalog.upstream import fetch_estimate

    estimate, _ = fetch_estimate(endpoint_id, unit_quantity)
    return estimate


@dataclass(frozen=True)
class SyncFailure:
    finished_at: datetime | None
    error: str


@dataclass(frozen=True)
class Freshness:
    """How current the index is, for the top bar and the freshness line."""

    live: bool
    label: str
    synced_at: datetime | None
    failure: SyncFailure | None  # the last finished sync, when it failed (shown to staff)


def catalog_freshness() -> Freshness:
    source = data_source()
    # From the runs, not from the in-memory index: a sync that changed nothing keeps the
    # index (and the time it was loaded with) as it was, yet the catalog is that fresh.
    state = catalog_index_module.catalog_state()
    failure = None
    if state.last_finished == SyncRun.State.FAILED:
        failure = SyncFailure(finished_at=state.last_finished_at, error=state.last_error)
    return Freshness(
        live=source.live, label=source.label, synced_at=state.last_success_at, failure=failure
    )


def catalog_sync_running() -> SyncRun | None:
    return SyncRun.objects.filter(state=SyncRun.State.RUNNING).first()


def catalog_sync_request(*, trigger: str) -> bool:
    """Enqueue a sync unless one is running or already waiting; whether one was enqueued."""
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from catalog.tasks import sync_catalog_now

    if catalog_sync_running() is not None:
        return False
    waiting = DBTaskResult.objects.filter(
        task_path=sync_catalog_now.module_path, status=TaskResultStatus.READY
    ).exists()
    if waiting:
        return False
    transaction.on_commit(lambda: sync_catalog_now.enqueue(trigger=trigger))
    return True
