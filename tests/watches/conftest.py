"""Fixtures of the watches' tests: syncs of a changed catalog, run the way production runs
them (the sync's signal, the enqueued task, the task worker), and a real HTTP receiver on
loopback whose answers each test chooses (Chromium and axe-core: tests/conftest.py)."""

from __future__ import annotations

import copy
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog import upstream
from catalog.models import Change, SyncRun
from catalog.sync import sync_catalog
from fal_emulator import Emulator, load_prices, load_snapshot
from usage import selectors
from usage.sync import usage_sync
from watches.models import Delivery, Notification


@pytest.fixture(scope="session")
def bundled() -> tuple[list, dict, list]:
    """The snapshot's models, documents and prices (copy before changing them)."""
    models, documents = load_snapshot()
    return models, documents, load_prices()


@pytest.fixture
def catalog_copy(bundled):
    """A changeable copy of fal's catalog as the index was synced from."""
    models, documents, prices = bundled
    return copy.deepcopy(models), documents, copy.deepcopy(prices)


@pytest.fixture
def sync_and_deliver(django_capture_on_commit_callbacks):
    """`sync_and_deliver(models, documents, prices)`: a sync from that catalog, then the task
    worker runs what it enqueued (as `manage.py db_worker` does); returns the run."""

    def run(models, documents, prices):
        with (
            django_capture_on_commit_callbacks(execute=True),
            upstream.offline_source(Emulator(models, documents, prices)),
        ):
            sync = sync_catalog(trigger="test")
        assert sync is not None and sync.state == "succeeded", sync and sync.error
        call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0,
                     stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
        return sync

    return run


@pytest.fixture
def waiting() -> Callable[..., list[Delivery]]:
    """`waiting(watch, channel, count)`: `count` notifications of `watch` (of acme/x0,
    acme/x1 … deprecated in the latest sync), each due on `channel` now."""

    def make(watch, channel: str, count: int) -> list[Delivery]:
        run = SyncRun.objects.filter(state="succeeded").latest("pk")
        deliveries = []
        for n in range(count):
            change = Change.objects.create(
                endpoint_id=f"acme/x{n}", kind="deprecated", sync=run, seen_at=timezone.now()
            )
            notification = Notification.objects.create(
                watch=watch, change=change, topic="deprecated", endpoint_id=change.endpoint_id,
                text=f"{change.endpoint_id}: deprecated",
            )  # fmt: skip
            deliveries.append(
                Delivery.objects.create(
                    notification=notification, channel=channel, next_attempt_at=timezone.now()
                )
            )
        return deliveries

    return make


@pytest.fixture
def usage_synced() -> set[str]:
    """A usage sync over the emulator's demo team; returns the endpoints it says the team
    called in the last 30 days. (Each test's database restarts its ids, so the figures
    usage.selectors keeps per run id are dropped first.)"""
    selectors._kept.clear()
    run = usage_sync(trigger="test")
    assert run is not None
    by_endpoint = selectors.team_usage(run.pk).by_endpoint
    assert by_endpoint is not None
    return {endpoint_id for endpoint_id, figures in by_endpoint.items() if figures.used}


@dataclass
class Receiver:
    """A webhook receiver on loopback: records each request; `answers` says how to answer
    each in turn (the last one repeats): a status, or one of the behaviours below."""

    url: str
    requests: list[dict] = field(default_factory=list)
    answers: list[int | Callable] = field(default_factory=lambda: [200])

    def bodies(self, path: str | None = None) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests if path is None or r["path"] == path]

    @staticmethod
    def slow(handler) -> None:
        """Answers nothing for longer than any timeout."""
        time.sleep(8)

    @staticmethod
    def trickle(handler) -> None:
        """Sends its status line a byte a second: each wait is short, the whole is not."""
        try:
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 20:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(1)
        except OSError:
            pass

    @staticmethod
    def endless(handler) -> None:
        """A 500 whose body never ends (until the client hangs up)."""
        handler.send_response(500)
        handler.end_headers()
        try:
            while True:
                handler.wfile.write(b"x" * 65536)
        except OSError:
            pass

    @staticmethod
    def redirect_to_private(handler) -> None:
        handler.send_response(307)
        handler.send_header("Location", "http://10.0.0.1/hook")
        handler.send_header("Content-Length", "0")
        handler.end_headers()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            answer = state.answers[min(len(state.requests) - 1, len(state.answers) - 1)]
            if callable(answer):
                answer(self)
                return
            self.send_response(answer)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def webhooks_to_loopback(settings):
    """The receiver is on loopback over plain http: allowed here as in development."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.DEBUG = True
    return settings


@pytest.fixture
def mail_on(settings):
    settings.EMAIL_URL = "console://"
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    return settings
