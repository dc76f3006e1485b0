"""Doubles for fal shared by tests/ and bench/: fault upstream, counting app, hostile data."""

from __future__ import annotations

from fal_emulator.snapshot import load_snapshot
from fal_emulator.testing import hostile
from fal_emulator.testing.counting import CountingApp, counting_emulator, synthetic_catalog
from fal_emulator.testing.faults import (
    FAILURE_MODES,
    MARKER,
    MODES,
    TRACEBACK,
    WAITING_MODES,
    FaultUpstream,
)
from fal_emulator.testing.hostile import hostile_emulator
from fal_emulator.testing.loopback import HOST, free_port, request

__all__ = [
    "FAILURE_MODES",
    "HOST",
    "MARKER",
    "MODES",
    "TRACEBACK",
    "WAITING_MODES",
    "CountingApp",
    "FaultUpstream",
    "counting_emulator",
    "free_port",
    "hostile",
    "hostile_emulator",
    "load_snapshot",
    "request",
    "synthetic_catalog",
]
