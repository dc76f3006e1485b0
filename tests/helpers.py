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


def sign_in(page, live_server, username: str, password: str, next_path: str = "/") -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button[type=submit]")
    page.wait_for_load_state("networkidle")
