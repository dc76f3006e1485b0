"""Offline emulator of fal's `GET /v1/models`: the WSGI app, its data, transport and server."""

from __future__ import annotations

from fal.emulator.app import Emulator, encode_cursor, error_response
from fal.emulator.server import EmulatorServer, is_loopback, serve, with_latency
from fal.emulator.snapshot import (
    DEFAULT_MODELS_PATH,
    DEFAULT_OPENAPI_PATH,
    HISTORY_DIR,
    SNAPSHOT_DATE,
    SNAPSHOT_DIR,
    SPEC_PATH,
    CrawlState,
    dated_emulator,
    history_dates,
    load_snapshot,
    load_state,
    snapshot_emulator,
)
from fal.emulator.transport import WSGITransport

__all__ = [
    "DEFAULT_MODELS_PATH",
    "DEFAULT_OPENAPI_PATH",
    "HISTORY_DIR",
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
    "load_snapshot",
    "load_state",
    "serve",
    "snapshot_emulator",
    "with_latency",
]
