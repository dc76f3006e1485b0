"""Helpers that test modules, conftests and bench/ import: the session's index, sign-in, Chromium.

Only the standard library at import time: bench/ imports this without pytest or Django set up.
"""

from __future__ import annotations

import os
import pickle

FRESH = "acme/fresh-model"  # in fal's catalog (fal_with_fresh_model), not in the index

# --- The catalog index of the test session (filled by django_db_setup in tests/conftest.py) --

_INDEX_TABLES: dict[str, list[dict]] = {}


def save_index() -> None:
    """Keep the synced index tables, for restore_index after a flush."""
    from catalog.models import CatalogEntry, IndexState, PriceRecord, SyncRun

    _INDEX_TABLES["runs"] = list(SyncRun.objects.values())
    _INDEX_TABLES["entries"] = list(CatalogEntry.objects.values())
    _INDEX_TABLES["state"] = list(IndexState.objects.values())
    _INDEX_TABLES["prices"] = list(PriceRecord.objects.values())


def dump_index(path: str) -> None:
    with open(path, "wb") as f:
        pickle.dump(_INDEX_TABLES, f)


def load_index(path: str) -> None:
    with open(path, "rb") as f:
        _INDEX_TABLES.update(pickle.load(f))  # noqa: S301 - written by this run (dump_index)


def restore_index() -> None:
    """Put the session's index back (after a transactional test flushed every table)."""
    from catalog.models import CatalogEntry, IndexState, PriceRecord, SyncRun

    SyncRun.objects.bulk_create([SyncRun(**row) for row in _INDEX_TABLES["runs"]])
    CatalogEntry.objects.bulk_create(
        [CatalogEntry(**row) for row in _INDEX_TABLES["entries"]], batch_size=200
    )
    IndexState.objects.bulk_create([IndexState(**row) for row in _INDEX_TABLES["state"]])
    PriceRecord.objects.bulk_create(
        [PriceRecord(**row) for row in _INDEX_TABLES["prices"]], batch_size=500
    )


# --- Chromium, as the browser tests and bench/browser.py launch it ----------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def record_errors(page, errors: list[str]) -> list[str]:
    """Collect the page's console errors and uncaught exceptions into `errors`, except
    images that cannot load without internet (net::ERR_*)."""

    def record(message):
        if message.type == "error" and "net::ERR" not in message.text:
            errors.append(message.text)

    page.on("console", record)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def axe_violations(page, axe_path) -> list[dict]:
    """axe-core's violations on the page as it is now: rule id, impact, help, targets. The
    page's context needs `bypass_csp=True`: axe is injected as a script."""
    page.add_script_tag(path=str(axe_path))
    return page.evaluate(
        """async () => {
          const result = await axe.run(document, {resultTypes: ["violations"]});
          return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map(n => n.target.join(" ")),
          }));
        }"""
    )


def describe_violations(found: dict[str, list[dict]]) -> str:
    """One line per axe violation of each page in `found` (page → `axe_violations`): rule,
    impact, and the first targets ("" when there are none). Every impact counts (not only
    serious and critical): the pages are clean, and should stay so."""
    lines = []
    for kind, violations in found.items():
        for v in violations:
            targets = ", ".join(v["targets"][:5])
            more = f" (+{len(v['targets']) - 5} more)" if len(v["targets"]) > 5 else ""
            lines.append(
                f"{kind}: {v['id']} [{v['impact']}] ×{len(v['targets'])} {v['help']}: "
                f"{targets}{more}"
            )
    return "\n".join(lines)


def sign_in(page, live_server, username: str, password: str, next_path: str = "/") -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button[type=submit]")
    page.wait_for_load_state("networkidle")


# --- Conformance sweeps (schemathesis) of the emulator against fal's published contracts ---


def with_authorization(case, authorization: str | None):
    """The case with this Authorization header instead of the one drawn (None: without)."""
    headers = dict(case.headers or {})
    headers.pop("Authorization", None)
    if authorization is not None:
        headers["Authorization"] = authorization
    case.headers = headers
    return case


# --- The search's judged set (tests/catalog/search_judgements.json), for its test and bench --

JUDGEMENTS = os.path.join(os.path.dirname(__file__), "catalog", "search_judgements.json")


def search_judgements() -> list[dict]:
    """The judged phrases: q, answers (a rule or a list of rules), status, written."""
    import json

    with open(JUDGEMENTS, encoding="utf-8") as f:
        return json.load(f)["judgements"]


def judged_catalog() -> tuple[list, list]:
    """The bundled catalog as the index holds it after the history replay: the snapshot's
    models, and the endpoints of earlier crawls the snapshot lacks (gone, their last entry)."""
    import gzip
    import json

    from fal.types import parse_model
    from fal_emulator.snapshot import DEFAULT_MODELS_PATH, HISTORY_DIR

    with gzip.open(DEFAULT_MODELS_PATH) as f:
        present = [m for m in map(parse_model, json.load(f)["models"]) if m is not None]
    ids = {m.endpoint_id for m in present}
    gone: dict[str, object] = {}
    for crawl in sorted(HISTORY_DIR.glob("fal-models-*.json.gz")):  # oldest first
        with gzip.open(crawl) as f:
            for m in map(parse_model, json.load(f)["models"]):
                if m is not None and m.endpoint_id not in ids:
                    gone[m.endpoint_id] = m
    return present, list(gone.values())


def judged_search(present: list, gone: list):
    """The search as the grid runs it (catalog.index.CatalogIndex): over the present models
    and, with `status=all`, the gone ones too; (q, with_gone) → endpoint ids, best first."""
    from catalog.search import SearchIndex, search_all

    models, indexes = (present, gone), (SearchIndex(present), SearchIndex(gone))

    def search(q: str, with_gone: bool) -> list[str]:
        found = search_all(q, indexes if with_gone else indexes[:1])
        return [models[n][p].endpoint_id for n, p in found]

    return search


def _answers(rules: dict | list[dict], model) -> bool:
    import re

    meta = model.metadata
    endpoint = model.endpoint_id.casefold()
    name = f"{endpoint} {meta.display_name.casefold()}" if meta else endpoint
    text = f"{name} {' '.join(meta.tags).casefold()}" if meta else name
    category = meta.category if meta else ""
    fields = {"id": endpoint, "name": name, "text": text}
    return any(
        all(
            category in want if key == "category" else re.search(want, fields[key]) is not None
            for key, want in rule.items()
        )
        for rule in (rules if isinstance(rules, list) else [rules])
    )


def judge_search(search, present: list, gone: list, judgements: list[dict]) -> dict:
    """Score `search` ((q, with_gone) → endpoint ids, best first) on the judged phrases.

    success@5: a right model in the top 5; top-1: the first is right; precision@10: right
    models in the top 10 over what the catalog can give (at most 10); zero: phrases that
    some model answers and that find nothing. A phrase with `status: all` is judged over
    the present and the gone models, as the grid shows them then; others over the present."""
    success = top = 0
    precision = 0.0
    zero: list[str] = []
    misses: list[str] = []
    for judged in judgements:
        with_gone = judged.get("status") == "all"
        models = [*present, *gone] if with_gone else present
        relevant = {m.endpoint_id for m in models if _answers(judged["answers"], m)}
        found = search(judged["q"], with_gone)
        hits = [endpoint_id in relevant for endpoint_id in found[:10]]
        success += any(hits[:5])
        top += bool(hits[:1] and hits[0])
        precision += sum(hits) / min(10, len(relevant)) if relevant else 1.0
        if relevant and not found:
            zero.append(judged["q"])
        if not hits[:1] or not hits[0]:
            misses.append(f"{judged['q']!r}: first {found[0] if found else 'nothing'}")
    n = len(judgements)
    return {
        "phrases": n,
        "success_at_5": success / n,
        "top_1": top / n,
        "precision_at_10": precision / n,
        "zero_results": zero,
        "misses": misses,
    }


def search_scores_line(scores: dict) -> str:
    """The scores as the benchmark and the test print them."""
    return (
        f"{scores['phrases']} judged phrases: success@5 {scores['success_at_5']:.2f}, "
        f"top-1 {scores['top_1']:.2f}, precision@10 {scores['precision_at_10']:.2f}, "
        f"zero results {len(scores['zero_results'])}"
    )


# Typed into the search box, timed at the bundled catalog's size and at 100,000 models,
# with the "did you mean" the grid asks for ("vdeo upscaler" gets one).
SEARCH_BENCH_QUERIES = [
    "kling video", "flux dev", "image video", "fluxx", "fal-ai/flux/dev", "a b", "vdeo upscaler",
]  # fmt: skip


def search_timings(models: list, size: int) -> list[str]:
    """Build time and the median of five unmemoised runs of each benchmark query, over
    `size` models: real entries cloned with new ids (real words, a vocabulary that grows
    with the ids) when `size` exceeds the catalog."""
    import dataclasses
    import statistics
    import time

    from catalog.search import SearchIndex

    catalog = models[:size]
    if size > len(models):
        copies = models * (size // len(models) + 1)
        catalog = [
            dataclasses.replace(m, endpoint_id=f"{m.endpoint_id}/v{i}")
            for i, m in zip(range(size), copies, strict=False)
        ]
    started = time.perf_counter()
    index = SearchIndex(catalog)
    lines = [f"{len(catalog):>7} models: build {time.perf_counter() - started:.2f} s"]
    for q in SEARCH_BENCH_QUERIES:
        runs = []
        for _ in range(5):
            index._memo.clear()  # time the work, not the memo
            started = time.perf_counter()
            count = len(index.search(q))
            suggestion = index.suggest(q)  # as the grid asks (it answers at once when it has none)
            runs.append((time.perf_counter() - started) * 1000)
        assert count or suggestion, q
        median = statistics.median(runs)
        lines.append(f"{len(catalog):>7} models: {q!r:>17} {median:6.1f} ms  {count} results")
    return lines
