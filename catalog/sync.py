"""The sync: crawl fal's catalog into the index, one run at a time, all or nothing.

A run crawls list mode page by page straight from fal (no cache: its own row keeps runs
one at a time, and no later caller could reuse its pages), then fetches OpenAPI documents
only for endpoints that are new or whose entry changed (find mode with
`expand=openapi-3.0`), and where that expansion failed, the app's fallback: fal's public
per-endpoint document (offline, the emulator answers it with the bundled reconstructed
documents), stored labelled (`fal.openapi.with_fallback_mark`) beside fal's error. Then it
fetches prices for every listed endpoint (batches of 50, for the key in use), then writes
everything in one transaction.
A pricing failure does not fail the run: it is recorded (`prices_error`) and prices stay
as last synced; so does an answer that prices none of the listed endpoints when some had
prices. A changed price is recorded in the history only against an earlier recorded one
(see `_apply_prices`). A crawl that fails
midway changes nothing but its own run row: an endpoint is marked gone only after a
complete crawl that lacks it, and the index keeps serving what it had.

One sync at a time across every process and server: a run is a `SyncRun` row in state
"running", and the database refuses a second one (a partial unique index). A run whose
heartbeat stops (its process died) is abandoned after `LEASE_SECONDS`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from catalog import diff, upstream
from catalog.models import CatalogEntry, Change, IndexState, PriceRecord, SyncRun
from catalog.prices import as_decimal
from catalog.signals import sync_finished
from fal.capabilities import capabilities_json, is_current
from fal.client import FalModelsClient
from fal.errors import FalAPIError, FalNotFoundError
from fal.openapi import with_fallback_mark
from fal.types import (
    EXPAND_OPENAPI,
    ModelsQuery,
    Price,
    find_queries,
    follow_cursors,
    id_batches,
    parse_model,
)

logger = logging.getLogger(__name__)

LIST_PAGE_SIZE = 100
# A run renews its heartbeat at least this often while it works…
HEARTBEAT_SECONDS = 10
# …and a run silent for longer than this is taken to be dead.
LEASE_SECONDS = 300
# Below SQLite's limit of variables per statement.
_PKS_PER_STATEMENT = 5000
_NO_DOCUMENT = object()  # no document was fetched for this endpoint in this run


class SyncBusy(Exception):
    """Another sync is running."""


@dataclass(frozen=True)
class CrawlFacts:
    """What the history needs to know about the source, beyond what its pages say.

    `categories`: the categories the source lists (None: all); an endpoint missing from a
    crawl that did not cover its category is not gone. `documents_dated`: the documents
    are the source's own, of this date (the offline snapshot's are earlier crawls': they
    are stored but never diffed). `all_documents`: fetch every document, not only those
    of new or changed entries (a replayed crawl's documents change without its entries).
    `as_of`: the date of the catalog state (a replayed crawl's), else the run's time.
    """

    categories: frozenset[str] | None = None
    documents_dated: bool = True
    all_documents: bool = False
    as_of: datetime | None = None


def default_facts() -> CrawlFacts:
    """Live: fal itself, today. Offline: the bundled snapshot, whose documents are older."""
    return CrawlFacts(documents_dated=upstream.data_source().live)


def fingerprint(value: Any) -> str:
    """A stable digest of JSON data: equal data, equal fingerprint."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def bump_index_version() -> None:
    """Tell every process that the index changed (call inside the writing transaction)."""
    IndexState.objects.update_or_create(pk=1, defaults={"version": secrets.randbits(62)})


@dataclass
class _Crawl:
    """What one run has learnt so far."""

    run: SyncRun
    on_progress: Callable[[SyncRun], None] | None
    min_interval: float
    facts: CrawlFacts = field(default_factory=CrawlFacts)
    entries: dict[str, dict] = field(default_factory=dict)  # endpoint id → entry, API order
    documents: dict[str, Any] = field(default_factory=dict)
    # Expansion failed and the fallback could not be asked: fetch the document again next run.
    retry_documents: set[str] = field(default_factory=set)
    prices: dict[str, Price] | None = None  # None: not fetched (no key, or fal failed)
    price_key: str = ""  # the fingerprint of the key the prices were asked with
    last_call: float = 0.0
    last_beat: float = field(default_factory=time.monotonic)

    def fetch(self, query: ModelsQuery, cursor: str | None) -> dict:
        """One page from fal, paced to CATALOG_SYNC_MAX_RPS calls. No cache: the run's own
        row keeps syncs one at a time, and no later caller could use its pages."""
        self.wait_turn()
        data = upstream.sync_client().get_page_json(query, cursor)
        self.last_call = time.monotonic()
        self.run.upstream_calls += 1
        self.run.pages += 1
        return data

    def wait_turn(self) -> None:
        wait = self.last_call + self.min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def pages(self, query: ModelsQuery):
        """Every page of `query`, following cursors (each cursor once)."""
        yield from follow_cursors(lambda cursor: self.fetch(query, cursor))

    def progress(self, *, force: bool = False) -> None:
        """Save the counters (the empty-index page shows them) and renew the heartbeat."""
        now = time.monotonic()
        if not force and now - self.last_beat < 1:
            return
        self.last_beat = now
        SyncRun.objects.filter(pk=self.run.pk).update(
            heartbeat_at=timezone.now(),
            pages=self.run.pages,
            upstream_calls=self.run.upstream_calls,
            models_seen=self.run.models_seen,
            documents_fetched=self.run.documents_fetched,
        )
        if self.on_progress is not None:
            self.on_progress(self.run)


def start_run(*, trigger: str) -> SyncRun:
    """A new running SyncRun, or SyncBusy when another sync holds the lock."""
    cutoff = timezone.now() - timedelta(seconds=LEASE_SECONDS)
    abandoned = SyncRun.objects.filter(state=SyncRun.State.RUNNING, heartbeat_at__lt=cutoff)
    abandoned.update(
        state=SyncRun.State.FAILED,
        finished_at=timezone.now(),
        error="Abandoned: the process running it stopped without finishing.",
    )
    try:
        with transaction.atomic():
            return SyncRun.objects.create(trigger=trigger, source=upstream.data_source().base_url)
    except IntegrityError:
        raise SyncBusy("Another sync is running.") from None


def sync_catalog(
    *,
    trigger: str = "manual",
    on_progress: Callable[[SyncRun], None] | None = None,
    skip_if_synced_within: float = 0,
    facts: CrawlFacts | None = None,
) -> SyncRun | None:
    """Run one sync and return its finished run (None when skipped: synced recently).

    Raises SyncBusy when another sync is running. Upstream failures do not raise: they
    are recorded on the returned (failed) run, and the index is left as it was.
    """
    if skip_if_synced_within:
        recent = timezone.now() - timedelta(seconds=skip_if_synced_within)
        if SyncRun.objects.filter(state=SyncRun.State.SUCCEEDED, started_at__gte=recent).exists():
            return None
    run = start_run(trigger=trigger)
    # Pacing is for fal's sake; the in-process emulator of the offline mode needs none.
    max_rps = settings.CATALOG_SYNC_MAX_RPS if upstream.data_source().live else 0
    crawl = _Crawl(run, on_progress, min_interval=1 / max_rps if max_rps > 0 else 0,
                   facts=facts or default_facts())  # fmt: skip
    try:
        _crawl_list(crawl)
        _fetch_documents(crawl)
        _fetch_fallbacks(crawl)
        _fetch_prices(crawl)
        _apply(crawl)
    except FalAPIError as error:
        _finish(crawl, error=f"{type(error).__name__}: {error.message}")
    except Exception as error:  # recorded, then raised: a bug must not leave a lock behind
        _finish(crawl, error=f"{type(error).__name__}: {error}")
        raise
    else:
        _finish(crawl)
    return run


def _crawl_list(crawl: _Crawl) -> None:
    for data in crawl.pages(ModelsQuery(limit=LIST_PAGE_SIZE)):
        for raw in data.get("models", ()):
            model = parse_model(raw)
            if model is not None:  # entries without a usable id are skipped (and logged)
                crawl.entries.setdefault(model.endpoint_id, _without_expansions(raw))
        crawl.run.models_seen = len(crawl.entries)
        crawl.progress()
    crawl.progress(force=True)


def _without_expansions(raw: dict) -> dict:
    return {k: v for k, v in raw.items() if k not in ("openapi", "enterprise_status")}


def _fetch_documents(crawl: _Crawl) -> None:
    """Documents for the endpoints that are new, changed, or whose last fetch failed."""
    known = dict(CatalogEntry.objects.values_list("endpoint_id", "openapi_for"))
    wanted = [
        i
        for i, raw in crawl.entries.items()
        if crawl.facts.all_documents or known.get(i) != fingerprint(raw)
    ]
    for query in find_queries(wanted, expand=[EXPAND_OPENAPI]):
        try:
            for data in crawl.pages(query):
                for raw in data.get("models", ()):
                    if isinstance(raw, dict) and raw.get("endpoint_id") in crawl.entries:
                        crawl.documents[raw["endpoint_id"]] = raw.get("openapi")
                crawl.run.documents_fetched = len(crawl.documents)
                crawl.progress()
        except FalAPIError as error:
            if getattr(error, "status", None) == 404:
                continue  # none of this batch is known to find mode: no documents
            raise


def _expansion_error(document: Any) -> str | None:
    """fal's message when `document` is an expansion's error object, else None."""
    if not isinstance(document, dict) or not isinstance(document.get("error"), dict):
        return None
    message = document["error"].get("message")
    return message if isinstance(message, str) and message else "expansion failed"


def fallback_document(client: FalModelsClient, endpoint_id: str, error: str) -> dict | None:
    """fal's public document of an endpoint whose expansion failed with `error`, labelled
    with where it came from; None when fal has none. Raises FalAPIError."""
    document = client.endpoint_document(endpoint_id)
    if document is None:
        return None
    url = f"{client.schema_url}?{urlencode({'endpoint_id': endpoint_id})}"
    return with_fallback_mark(document, url, error)


# One call each, paced: a first sync of a large catalog would otherwise spend most of its
# time here (100,000 models: 163 s against 65). The bundled catalog's 514 fit in one run.
FALLBACKS_PER_RUN = 600


def _fetch_fallbacks(crawl: _Crawl) -> None:
    """The fallback for each endpoint whose expansion failed in this run, at most
    FALLBACKS_PER_RUN of them. Its failures are logged, not raised: the run keeps fal's
    error object, and the next run asks again, as it does for those past the limit. After
    one failure the rest wait for the next run (each would cost a whole time budget)."""
    failed = [(i, e) for i, d in crawl.documents.items() if (e := _expansion_error(d))]
    crawl.retry_documents.update(i for i, _ in failed[FALLBACKS_PER_RUN:])
    failed = failed[:FALLBACKS_PER_RUN]
    for position, (endpoint_id, error) in enumerate(failed):
        crawl.wait_turn()
        try:
            document = fallback_document(upstream.sync_client(), endpoint_id, error)
        except FalAPIError as failure:
            crawl.retry_documents.update(i for i, _ in failed[position:])
            logger.warning(
                "Catalog sync %s: no fallback documents this run (%d left): %s",
                crawl.run.pk, len(failed) - position, failure.message,
            )  # fmt: skip
            return
        finally:
            crawl.last_call = time.monotonic()
            crawl.run.upstream_calls += 1
        if document is not None:
            crawl.documents[endpoint_id] = document
        crawl.progress()


def _fetch_prices(crawl: _Crawl) -> None:
    """Every listed endpoint's price for the key in use; a failure is recorded, not raised."""
    fingerprint = upstream.price_key_fingerprint()
    if fingerprint is None:
        return  # live without FAL_KEY: fal prices nothing, and nothing else may stand in
    prices: dict[str, Price] = {}
    try:
        for batch in id_batches(list(crawl.entries)):
            crawl.wait_turn()
            try:
                found = upstream.sync_client().prices(batch)
            except FalNotFoundError:
                found = []  # fal prices none of this batch: an answer
            crawl.last_call = time.monotonic()
            crawl.run.upstream_calls += 1
            crawl.run.price_calls += 1
            prices.update((p.endpoint_id, p) for p in found if p.endpoint_id in crawl.entries)
            crawl.progress()
    except FalAPIError as error:
        crawl.run.prices_error = f"{type(error).__name__}: {error.message}"[:2000]
        logger.warning("Catalog sync %s: prices not fetched: %s", crawl.run.pk, error.message)
        return
    known = PriceRecord.objects.filter(key_fingerprint=fingerprint, ended_at=None)
    if crawl.entries and not prices and known.exists():
        # Every price gone at once is fal (or the key) failing, not news: ending them all
        # would empty every card and record a "price gone" change per endpoint.
        crawl.run.prices_error = (
            f"fal priced none of the {len(crawl.entries)} listed endpoints: taken for a "
            "pricing failure"
        )
        logger.warning("Catalog sync %s: %s", crawl.run.pk, crawl.run.prices_error)
        return
    crawl.prices, crawl.price_key = prices, fingerprint
    crawl.run.prices_seen = len(prices)


def _apply_prices(
    crawl: _Crawl, now, existing: dict[str, CatalogEntry], recorder: _Recorder | None
) -> bool:
    """Extend, start or end each current price of this key; whether any changed.

    Price changes are recorded only against an earlier recorded price of this key: a
    price that changed or went away, or one that appeared for an endpoint that the last
    price-fetching sync of this key already listed (fal had no price for it then). The
    first prices of an index, or of a new key, are a baseline, not thousands of changes."""
    if crawl.prices is None:
        return False
    run = crawl.run
    rows = PriceRecord.objects.filter(key_fingerprint=crawl.price_key)
    current = {row.endpoint_id: row for row in rows.filter(ended_at=None)}
    last_priced = rows.aggregate(last=Max("last_seen_sync"))["last"]

    def record(endpoint_id: str, row: PriceRecord | None, price: Price | None) -> None:
        if recorder is None:
            return
        if row is None:
            entry = existing.get(endpoint_id)
            first_sync = entry.first_seen_sync_id if entry is not None else None
            if last_priced is None or first_sync is None or first_sync > last_priced:
                return  # not asked for a price before: nothing to compare with
        before = diff.price_state(row.unit_price, row.unit, row.currency) if row else None
        after = (
            diff.price_state(as_decimal(price.unit_price), price.unit, price.currency)
            if price is not None
            else None
        )
        recorder.prices(endpoint_id, before, after, crawl.entries[endpoint_id])

    creates: list[PriceRecord] = []
    ended: list[int] = []
    kept: list[int] = []
    for endpoint_id, price in crawl.prices.items():
        amount = as_decimal(price.unit_price)
        row = current.get(endpoint_id)
        if row is not None and (row.unit_price, row.unit, row.currency) == (
            amount,
            price.unit,
            price.currency,
        ):  # the same price
            kept.append(row.pk)
            continue
        if row is not None:
            ended.append(row.pk)
        record(endpoint_id, row, price)
        creates.append(
            PriceRecord(
                endpoint_id=endpoint_id,
                key_fingerprint=crawl.price_key,
                unit_price=amount,
                unit=price.unit[:200],
                currency=price.currency[:12],
                first_seen=now,
                last_seen=now,
                first_seen_sync=run,
                last_seen_sync=run,
            )  # fmt: skip
        )
    # A listed endpoint fal no longer prices: its price ends, with no successor.
    for endpoint_id, row in current.items():
        if endpoint_id in crawl.entries and endpoint_id not in crawl.prices:
            ended.append(row.pk)
            record(endpoint_id, row, None)
    for start in range(0, len(ended), _PKS_PER_STATEMENT):
        PriceRecord.objects.filter(pk__in=ended[start : start + _PKS_PER_STATEMENT]).update(
            ended_at=now
        )
    PriceRecord.objects.bulk_create(creates, batch_size=500)
    for start in range(0, len(kept), _PKS_PER_STATEMENT):
        PriceRecord.objects.filter(pk__in=kept[start : start + _PKS_PER_STATEMENT]).update(
            last_seen=now, last_seen_sync=run
        )
    run.prices_changed = len(creates)
    return bool(creates or ended)


def _apply(crawl: _Crawl) -> None:
    """Write the crawl into the index, and the changes it shows, in one transaction.

    Only what changed is rewritten: an unchanged catalog of 100,000 endpoints costs a few
    bulk `UPDATE … last_seen` statements, not 100,000 row writes.
    """
    run, facts = crawl.run, crawl.facts
    now = facts.as_of or timezone.now()
    entry_fields = ["entry", "entry_fingerprint", "position", "last_seen", "last_seen_sync"]
    document_fields = ["openapi", "openapi_fingerprint", "openapi_for", "capabilities"]
    with transaction.atomic():
        existing = {
            row.endpoint_id: row
            for row in CatalogEntry.objects.only(
                "pk",
                "endpoint_id",
                "entry_fingerprint",
                "position",
                "gone_at",
                "openapi_for",
                "capabilities",
                "first_seen_sync_id",
            )
        }
        # The first sync of an index is its baseline: it records no changes.
        recorder = _Recorder(run, now, facts) if existing else None
        creates: list[CatalogEntry] = []
        rewrites: list[CatalogEntry] = []  # entry, place or document changed, or back
        unchanged: list[int] = []
        before = _previous_states(crawl, existing) if recorder else {}
        for position, (endpoint_id, raw) in enumerate(crawl.entries.items()):
            digest = fingerprint(raw)
            row = existing.get(endpoint_id)
            document = crawl.documents.get(endpoint_id, _NO_DOCUMENT)
            if row is None:
                row = CatalogEntry(endpoint_id=endpoint_id, first_seen=now, first_seen_sync=run)
                creates.append(row)
                run.added += 1
                if recorder:
                    recorder.added(endpoint_id, raw)
            elif row.gone_at is not None:
                run.back += 1
                rewrites.append(row)
                if recorder:
                    recorder.back(endpoint_id, raw)
            elif row.entry_fingerprint != digest:
                run.changed += 1
                rewrites.append(row)
            elif row.position != position or document is not _NO_DOCUMENT:
                rewrites.append(row)
            else:
                unchanged.append(row.pk)
                continue
            if recorder and endpoint_id in before:
                old_entry, old_document = before[endpoint_id]
                recorder.changed(endpoint_id, old_entry, raw, old_document, document)
            row.entry, row.entry_fingerprint, row.position = raw, digest, position
            row.last_seen, row.last_seen_sync, row.gone_at = now, run, None
            row.openapi_for = row.openapi_for if document is _NO_DOCUMENT else digest
            if endpoint_id in crawl.retry_documents:
                row.openapi_for = ""
            if document is not _NO_DOCUMENT:
                row.openapi, row.openapi_fingerprint = document, fingerprint(document)
                row.capabilities = capabilities_json(document)
            elif row.pk is None:
                row.capabilities = capabilities_json(None)
        CatalogEntry.objects.bulk_create(creates, batch_size=500)
        stale = _recompute_capabilities(existing, crawl.documents)
        with_documents = [r for r in rewrites if r.endpoint_id in crawl.documents]
        without = [r for r in rewrites if r.endpoint_id not in crawl.documents]
        # One UPDATE per row: bulk_update's CASE over large JSON values costs far more.
        for row in with_documents:
            CatalogEntry.objects.filter(pk=row.pk).update(
                **{
                    name: getattr(row, name)
                    for name in [*entry_fields, "gone_at", *document_fields]
                }
            )
        if without:
            CatalogEntry.objects.bulk_update(without, [*entry_fields, "gone_at"], batch_size=500)
        for start in range(0, len(unchanged), _PKS_PER_STATEMENT):
            CatalogEntry.objects.filter(
                pk__in=unchanged[start : start + _PKS_PER_STATEMENT]
            ).update(last_seen=now, last_seen_sync=run)
        gone = _gone(crawl, existing, recorder)
        for start in range(0, len(gone), _PKS_PER_STATEMENT):
            CatalogEntry.objects.filter(pk__in=gone[start : start + _PKS_PER_STATEMENT]).update(
                gone_at=now
            )
        run.gone = len(gone)
        prices_changed = _apply_prices(crawl, now, existing, recorder)
        run.categories = sorted(facts.categories) if facts.categories is not None else None
        run.documents_dated = facts.documents_dated
        run.catalog_date = now
        if recorder:
            run.changes_recorded = recorder.save()
        # Any recorded change comes with a new version too: pages keep what they derive
        # from the history (a model's changes) with the index version.
        if (
            creates or rewrites or gone or stale or prices_changed or run.changes_recorded
            or not IndexState.objects.filter(pk=1).exists()
        ):  # fmt: skip
            bump_index_version()


def _recompute_capabilities(existing: dict[str, CatalogEntry], fetched: dict) -> int:
    """Capabilities of rows stored by older rules (or before there were any), recomputed
    from their stored document; returns how many. Rows getting a document in this run are
    computed with it instead."""
    stale = [
        row.pk
        for endpoint_id, row in existing.items()
        if endpoint_id not in fetched and not is_current(row.capabilities)
    ]
    for start in range(0, len(stale), 200):
        batch = CatalogEntry.objects.filter(pk__in=stale[start : start + 200]).only("openapi")
        rows = list(batch)
        for row in rows:
            row.capabilities = capabilities_json(row.openapi)
        CatalogEntry.objects.bulk_update(rows, ["capabilities"])
    return len(stale)


def _previous_states(crawl: _Crawl, existing: dict[str, CatalogEntry]) -> dict[str, tuple]:
    """(entry, document) as stored, for the present endpoints whose entry or document the
    crawl brings anew: only those rows' JSON is read."""
    pks = [
        row.pk
        for endpoint_id, row in existing.items()
        if row.gone_at is None
        and endpoint_id in crawl.entries
        and (
            row.entry_fingerprint != fingerprint(crawl.entries[endpoint_id])
            or endpoint_id in crawl.documents
        )  # fmt: skip
    ]
    states: dict[str, tuple] = {}
    for start in range(0, len(pks), 500):
        rows = CatalogEntry.objects.filter(pk__in=pks[start : start + 500])
        for endpoint_id, entry, document in rows.values_list("endpoint_id", "entry", "openapi"):
            states[endpoint_id] = (entry, document)
    return states


def _gone(crawl: _Crawl, existing: dict[str, CatalogEntry], recorder: _Recorder | None) -> list:
    """Present rows the crawl lacks, among the categories it covered (a crawl that did not
    list a category says nothing about its endpoints)."""
    missing = [
        row.pk
        for endpoint_id, row in existing.items()
        if endpoint_id not in crawl.entries and row.gone_at is None
    ]
    if not missing:
        return []
    covered = crawl.facts.categories
    gone: list[int] = []
    for start in range(0, len(missing), 500):
        rows = CatalogEntry.objects.filter(pk__in=missing[start : start + 500])
        for pk, endpoint_id, entry in rows.values_list("pk", "endpoint_id", "entry"):
            if covered is not None and diff.entry_category(entry) not in covered:
                continue
            gone.append(pk)
            if recorder:
                recorder.gone(endpoint_id, entry)
    return gone


class _Recorder:
    """The changes one sync saw, written with its index writes."""

    def __init__(self, run: SyncRun, seen_at: datetime, facts: CrawlFacts) -> None:
        self.run, self.seen_at, self.facts = run, seen_at, facts
        previous = SyncRun.objects.filter(state=SyncRun.State.SUCCEEDED).order_by("-pk").first()
        # The categories the previous crawl covered: an endpoint first seen in a category it
        # did not list may be old, so it is not "added".
        self.previously_covered = previous.categories if previous else None
        self.rows: list[Change] = []

    def _keep(self, changes: list[diff.Difference], entry: Any) -> None:
        metadata = entry.get("metadata") if isinstance(entry, dict) else None
        metadata = metadata if isinstance(metadata, dict) else {}
        license_type = metadata.get("license_type")
        for change in changes:
            self.rows.append(
                Change(
                    endpoint_id=change.endpoint_id,
                    kind=change.kind,
                    field=change.field[:300],
                    aspect=change.aspect,
                    before=change.before,
                    after=change.after,
                    breaking=change.breaking,
                    category=diff.entry_category(entry)[:200],
                    license=license_type[:200] if isinstance(license_type, str) else "",
                    sync=self.run,
                    seen_at=self.seen_at,
                )
            )

    def added(self, endpoint_id: str, entry: dict) -> None:
        covered = self.previously_covered
        if covered is not None and diff.entry_category(entry) not in covered:
            return  # first seen, but its category was not crawled before
        self._keep([diff.Difference(endpoint_id, diff.ADDED)], entry)

    def back(self, endpoint_id: str, entry: dict) -> None:
        self._keep([diff.Difference(endpoint_id, diff.BACK)], entry)

    def gone(self, endpoint_id: str, entry: dict) -> None:
        self._keep([diff.Difference(endpoint_id, diff.GONE)], entry)

    def changed(
        self, endpoint_id: str, old_entry: Any, entry: dict, old_document: Any, document: Any
    ) -> None:
        changes = diff.diff_entry(endpoint_id, old_entry, entry)
        if document is not _NO_DOCUMENT and self.facts.documents_dated:
            changes += diff.diff_documents(endpoint_id, old_document, document)
        self._keep(changes, entry)

    def prices(self, endpoint_id: str, before: Any, after: Any, entry: dict) -> None:
        self._keep(diff.diff_price(endpoint_id, before, after), entry)

    def save(self) -> int:
        Change.objects.bulk_create(self.rows, batch_size=500)
        return len(self.rows)


def _finish(crawl: _Crawl, *, error: str = "") -> None:
    run = crawl.run
    run.state = SyncRun.State.FAILED if error else SyncRun.State.SUCCEEDED
    run.error = error[:2000]
    run.finished_at = timezone.now()
    run.heartbeat_at = run.finished_at
    if error:  # nothing of a failed crawl was written
        run.added = run.changed = run.gone = run.back = run.prices_changed = 0
        logger.warning("Catalog sync %s failed: %s", run.pk, error)
    run.save()
    if not error:
        sync_finished.send(sender=SyncRun, run=run)
    if crawl.on_progress is not None:
        crawl.on_progress(run)


def sync_endpoint(endpoint_id: str) -> bool:
    """Ask find mode once for an id the index lacks; add it (and its document) if fal knows it.

    Returns whether it was added. Raises FalAPIError when fal cannot answer; "not found"
    is an answer (False). Does not take the sync lock: it writes one row, atomically.
    """
    (query,) = find_queries([endpoint_id], expand=[EXPAND_OPENAPI])
    try:
        for data in follow_cursors(lambda cursor: upstream.fetch_page_json(query, cursor)[0]):
            for raw in data.get("models", ()):
                model = parse_model(raw)
                if model is not None and model.endpoint_id == endpoint_id:
                    _add_entry(_with_fallback(raw))
                    return True
    except FalAPIError as error:
        if error.status == 404:
            return False
        raise
    return False


def _with_fallback(raw: dict) -> dict:
    """`raw` with the fallback document in place of a failed expansion, as the sync stores
    it; unchanged when fal has none or cannot be asked now (the page shows fal's error)."""
    error = _expansion_error(raw.get("openapi"))
    if error is None:
        return raw
    try:
        document = fallback_document(upstream.get_client(), raw["endpoint_id"], error)
    except FalAPIError as failure:
        logger.warning("No fallback document for %s: %s", raw["endpoint_id"], failure.message)
        return raw
    return raw if document is None else {**raw, "openapi": document}


def _add_entry(raw: dict) -> None:
    entry = _without_expansions(raw)
    digest = fingerprint(entry)
    now = timezone.now()
    document = raw.get("openapi")
    with transaction.atomic():
        _, created = CatalogEntry.objects.get_or_create(
            endpoint_id=entry["endpoint_id"],
            defaults={
                "entry": entry,
                "entry_fingerprint": digest,
                # After every listed endpoint: find mode does not say where it belongs.
                "position": (CatalogEntry.objects.aggregate(m=Max("position"))["m"] or 0) + 1,
                "openapi": document,
                "openapi_fingerprint": fingerprint(document) if document is not None else "",
                "openapi_for": digest if document is not None else "",
                "capabilities": capabilities_json(document),
                "first_seen": now,
                "last_seen": now,
            },
        )
        if created:
            bump_index_version()
