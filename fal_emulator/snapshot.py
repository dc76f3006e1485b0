"""The bundled offline snapshot of fal's catalog, its prices and its earlier dated crawls:
where the files are, and loading them once."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fal.openapi import RECONSTRUCTED_MARK, JSONObject

SNAPSHOT_DIR = Path(__file__).parent / "data"
DEFAULT_MODELS_PATH = SNAPSHOT_DIR / "fal-models-2026-08-10.json.gz"
DEFAULT_OPENAPI_PATH = SNAPSHOT_DIR / "fal-openapi-2026-08-10.json.gz"
DEFAULT_RECONSTRUCTED_PATH = SNAPSHOT_DIR / "fal-openapi-reconstructed.json.gz"
DEFAULT_PRICING_PATH = SNAPSHOT_DIR / "fal-pricing-2026-08-10.json.gz"
SPEC_PATH = SNAPSHOT_DIR / "models-openapi.yaml"
PRICING_SPEC_PATH = SNAPSHOT_DIR / "pricing-openapi.json"
HISTORY_DIR = SNAPSHOT_DIR / "history"
SNAPSHOT_DATE = "2026-08-10"


@dataclass(frozen=True)
class CrawlState:
    """One dated state of the catalog as a crawl recorded it.

    `categories` is None for a complete crawl, else the categories it listed (a crawl per
    category that lacks some). `documents_dated` says whether the documents are that
    crawl's own: the 2026-08-10 snapshot carries the documents of earlier crawls.
    """

    date: str
    models: list[JSONObject]
    openapi: dict[str, Any]
    categories: frozenset[str] | None
    documents_dated: bool
    recorded_at: str


def history_dates() -> list[str]:
    """Every bundled date, oldest first (the earlier crawls, then the snapshot)."""
    dates = sorted(
        p.name.removeprefix("fal-models-").removesuffix(".json.gz")
        for p in HISTORY_DIR.glob("fal-models-*.json.gz")
    )
    return [*dates, SNAPSHOT_DATE]


def load_state(date: str) -> CrawlState:
    """The catalog of one bundled date (ValueError for a date not bundled)."""
    if date == SNAPSHOT_DATE:
        models, openapi = load_snapshot()
        return CrawlState(date, models, openapi, None, False, f"{date}T00:00:00Z")
    if date not in history_dates():
        raise ValueError(f"No bundled crawl of {date!r}; bundled: {', '.join(history_dates())}")
    with gzip.open(HISTORY_DIR / f"fal-models-{date}.json.gz", "rt", encoding="utf-8") as fh:
        crawl = json.load(fh)
    with gzip.open(HISTORY_DIR / f"fal-openapi-{date}.json.gz", "rt", encoding="utf-8") as fh:
        openapi = json.load(fh)
    return CrawlState(
        date, crawl["models"], openapi, frozenset(crawl["categories"]), True, crawl["recorded_at"]
    )


def load_snapshot(
    models_path: Path = DEFAULT_MODELS_PATH,
    openapi_path: Path = DEFAULT_OPENAPI_PATH,
    reconstructed_path: Path | None = DEFAULT_RECONSTRUCTED_PATH,
) -> tuple[list[JSONObject], dict[str, JSONObject]]:
    """(the `models` entries in the API's order, {endpoint_id: OpenAPI document}).

    The recorded documents, plus (unless `reconstructed_path` is None) the reconstructed
    ones for endpoints without a recorded document, each marked in
    `info["x-catalog-reconstructed"]` with where it was rebuilt from (see the README).
    """
    with gzip.open(models_path, "rt", encoding="utf-8") as fh:
        models = json.load(fh)["models"]
    with gzip.open(openapi_path, "rt", encoding="utf-8") as fh:
        openapi_docs = json.load(fh)
    if reconstructed_path is not None:
        for endpoint_id, document in load_reconstructed(reconstructed_path).items():
            openapi_docs.setdefault(endpoint_id, document)
    return models, openapi_docs


def load_reconstructed(path: Path = DEFAULT_RECONSTRUCTED_PATH) -> dict[str, JSONObject]:
    """{endpoint_id: reconstructed document, marked with its source}."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        bundle = json.load(fh)
    sources = bundle.get("source_of", {})
    marked = {}
    for endpoint_id, document in bundle.get("documents", {}).items():
        info = dict(document.get("info") or {})
        info[RECONSTRUCTED_MARK] = {
            "source": sources.get(endpoint_id, "unknown"),
            "note": "Reconstructed from schemas that public repos generated out of real fal "
            "crawls; not recorded from fal.",
        }
        marked[endpoint_id] = {**document, "info": info}
    return marked


def load_prices(pricing_path: Path = DEFAULT_PRICING_PATH) -> list[JSONObject]:
    """The recorded `prices` entries (`{endpoint_id, unit_price, unit, currency}`)."""
    with gzip.open(pricing_path, "rt", encoding="utf-8") as fh:
        prices: list[JSONObject] = json.load(fh)["prices"]
    return prices
