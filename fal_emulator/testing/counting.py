"""An emulator that counts what reaches it, over a real or synthetic catalog, on loopback."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fal.openapi import JSONObject
from fal_emulator.app import Emulator
from fal_emulator.server import EmulatorServer, serve
from fal_emulator.snapshot import load_snapshot
from fal_emulator.testing.loopback import HOST


class CountingApp:
    """Wraps a WSGI app; records every request's query string; optionally sleeps first."""

    def __init__(self, app: Callable[..., Iterable[bytes]], delay: float = 0.0) -> None:
        self.app = app
        self.delay = delay
        self._lock = threading.Lock()
        self.calls: list[str] = []

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        with self._lock:
            self.calls.append(environ.get("QUERY_STRING", ""))
        if self.delay:
            time.sleep(self.delay)
        return self.app(environ, start_response)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.calls)

    def per_request(self) -> Counter[str]:
        """How many times each distinct upstream request (page) was made."""
        with self._lock:
            return Counter(self.calls)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


def synthetic_catalog(size: int) -> tuple[list[JSONObject], dict[str, JSONObject]]:
    """The real catalog, then copies of its entries under new endpoint ids up to `size`.

    Copy k of `owner/name` is `owner/name-k<k>` with display name "… k<k>": same shape,
    categories, licenses and tags as the real catalog, so filters hit in proportion.
    OpenAPI documents are shared by reference, not copied.
    """
    real, openapi = load_snapshot()
    models = list(real[:size])
    docs = dict(openapi)
    k = 0
    while len(models) < size:
        k += 1
        for entry in real:
            if len(models) >= size:
                break
            new_id = f"{entry['endpoint_id']}-k{k}"
            copy = dict(entry, endpoint_id=new_id)
            metadata = entry.get("metadata")
            if isinstance(metadata, dict):
                name = metadata.get("display_name") or entry["endpoint_id"]
                copy["metadata"] = dict(metadata, display_name=f"{name} k{k}")
            if entry["endpoint_id"] in openapi:
                docs[new_id] = openapi[entry["endpoint_id"]]
            models.append(copy)
    return models, docs


@contextlib.contextmanager
def counting_emulator(
    size: int | None = None, *, delay: float = 0.0, emulator: Emulator | None = None
) -> Iterator[tuple[EmulatorServer, CountingApp]]:
    """An emulator served over HTTP on loopback; yields (server, counter); always shut down."""
    if emulator is None:
        models, docs = synthetic_catalog(size) if size else load_snapshot()
        emulator = Emulator(models, docs)
    counter = CountingApp(emulator, delay=delay)
    server = serve(counter, HOST, 0)
    try:
        yield server, counter
    finally:
        server.shutdown()
