"""Offline emulator of fal's `GET /v1/models`: the WSGI app, its data, transport and server."""

from __future__ import annotations

from fal.emulator.app import Emulator, encode_cursor, error_response
from fal.emulator.server import EmulatorServer, is_loopback, serve, with_latency
from fal.emulator.snapshot import (
    DEFAULT_MODELS_PATH,
    DEFAULT_OPENAPI_PATH,
    DEFAULT_RECONSTRUCTED_PATH,
    SNAPSHOT_DIR,
    SPEC_PATH,
    load_snapshot,
    snapshot_emulator,
)
from fal.emulator.transport import WSGITransport

__all__ = [
    "DEFAULT_MODELS_PATH",
    "DEFAULT_OPENAPI_PATH",
    "DEFAULT_RECONSTRUCTED_PATH",
    "SNAPSHOT_DIR",
    "SPEC_PATH",
    "Emulator",
    "EmulatorServer",
    "WSGITransport",
    "encode_cursor",
    "error_response",
    "is_loopback",
    "load_snapshot",
    "serve",
    "snapshot_emulator",
    "with_latency",
]
