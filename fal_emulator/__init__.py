"""Offline emulator of fal's `/v1/models` and its pricing: the WSGI app, data, transport, server."""

from __future__ import annotations

from fal_emulator.app import Emulator, dated_emulator, snapshot_emulator
from fal_emulator.envelope import error_response
from fal_emulator.paging import encode_cursor
from fal_emulator.server import EmulatorServer, is_loopback, serve, with_latency
from fal_emulator.snapshot import (
    DEFAULT_MODELS_PATH,
    DEFAULT_OPENAPI_PATH,
    DEFAULT_PRICING_PATH,
    DEFAULT_RECONSTRUCTED_PATH,
    HISTORY_DIR,
    PRICING_SPEC_PATH,
    SNAPSHOT_DATE,
    SNAPSHOT_DIR,
    SPEC_PATH,
    CrawlState,
    history_dates,
    load_prices,
    load_snapshot,
    load_state,
)
from fal_emulator.transport import WSGITransport

# The key an in-process client of the emulator sends, so that offline pages get prices (the
# pricing paths need `Authorization: Key …`, and the emulator checks only that one is sent).
# It is not a secret and never reaches a network: the team's FAL_KEY is for fal alone.
OFFLINE_KEY = "offline-emulator"

__all__ = [
    "DEFAULT_MODELS_PATH",
    "DEFAULT_OPENAPI_PATH",
    "DEFAULT_PRICING_PATH",
    "DEFAULT_RECONSTRUCTED_PATH",
    "HISTORY_DIR",
    "OFFLINE_KEY",
    "PRICING_SPEC_PATH",
    "SNAPSHOT_DATE",
    "SNAPSHOT_DIR",
    "SPEC_PATH",
    "CrawlState",
    "Emulator",
    "EmulatorServer",
    "WSGITransport",
    "encode_cursor",
    "error_response",
    "dated_emulator",
    "history_dates",
    "is_loopback",
    "load_prices",
    "load_snapshot",
    "load_state",
    "serve",
    "snapshot_emulator",
    "with_latency",
]
