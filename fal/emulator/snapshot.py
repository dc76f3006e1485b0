"""The bundled offline snapshot of fal's catalog and prices: where its files are, loading them."""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fal.emulator.app import Emulator

SNAPSHOT_DIR = Path(__file__).parent / "snapshot"
DEFAULT_MODELS_PATH = SNAPSHOT_DIR / "fal-models-2026-08-10.json.gz"
DEFAULT_OPENAPI_PATH = SNAPSHOT_DIR / "fal-openapi-2026-08-10.json.gz"
DEFAULT_PRICING_PATH = SNAPSHOT_DIR / "fal-pricing-2026-08-10.json.gz"
SPEC_PATH = SNAPSHOT_DIR / "models-openapi.yaml"
PRICING_SPEC_PATH = SNAPSHOT_DIR / "pricing-openapi.json"


def load_snapshot(
    models_path: Path = DEFAULT_MODELS_PATH, openapi_path: Path = DEFAULT_OPENAPI_PATH
) -> tuple[list[dict], dict[str, dict]]:
    """(the `models` entries in the API's order, {endpoint_id: OpenAPI document})."""
    with gzip.open(models_path, "rt", encoding="utf-8") as fh:
        models = json.load(fh)["models"]
    with gzip.open(openapi_path, "rt", encoding="utf-8") as fh:
        openapi_docs = json.load(fh)
    return models, openapi_docs


def load_prices(pricing_path: Path = DEFAULT_PRICING_PATH) -> list[dict]:
    """The recorded `prices` entries (`{endpoint_id, unit_price, unit, currency}`)."""
    with gzip.open(pricing_path, "rt", encoding="utf-8") as fh:
        return json.load(fh)["prices"]


_singleton: Emulator | None = None
_singleton_lock = threading.Lock()


def snapshot_emulator() -> Emulator:
    """The process-wide emulator over the bundled snapshot, built on first use."""
    from fal.emulator.app import Emulator  # app imports this module's paths

    global _singleton
    if _singleton is None:
        with _singleton_lock:
            if _singleton is None:
                _singleton = Emulator.from_snapshot()
    return _singleton
