"""Loopback-only helpers for the benchmark and the server tests.

A counting emulator over HTTP (optionally slow, optionally over a synthetic catalog), a
throw-away site (SQLite database, file cache, collected static files, a signed-in session)
and gunicorn processes that are always stopped. Every address is 127.0.0.1; every loop
is bounded in count or time.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from catalog.emulator import (  # noqa: E402
    DEFAULT_MODELS_PATH,
    DEFAULT_OPENAPI_PATH,
    Emulator,
    EmulatorServer,
    serve,
)

PYTHON = sys.executable
HOST = "127.0.0.1"


# --- The upstream: an emulator that counts what reaches it ------------------------------------


class CountingApp:
    """Wraps a WSGI app; records every request's query string; optionally sleeps first."""

    def __init__(self, app: Callable[..., Any], delay: float = 0.0) -> None:
        self.app = app
        self.delay = delay
        self._lock = threading.Lock()
        self.calls: list[str] = []

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
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


def load_snapshot() -> tuple[list[dict], dict[str, dict]]:
    with gzip.open(DEFAULT_MODELS_PATH, "rt", encoding="utf-8") as fh:
        models = json.load(fh)["models"]
    with gzip.open(DEFAULT_OPENAPI_PATH, "rt", encoding="utf-8") as fh:
        openapi = json.load(fh)
    return models, openapi


def synthetic_catalog(size: int) -> tuple[list[dict], dict[str, dict]]:
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


# --- A throw-away site ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Site:
    """A database, a cache directory and collected static files in `root`, plus a session."""

    root: Path
    env: dict[str, str]
    session_cookie: str = ""
    shortlist_slug: str = ""
    notes: list[str] = field(default_factory=list)

    def manage(self, *args: str, timeout: float = 300, **env: str) -> str:
        done = subprocess.run(
            [PYTHON, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout


_SETUP_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from django.test import Client
user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": False})
client = Client()
client.force_login(user)
out = {"session": client.cookies["sessionid"].value, "shortlist": "", "notes": []}
ids = json.loads(IDS)
try:
    from catalog.models import Shortlist, ShortlistEntry
except ImportError as exc:
    out["notes"].append(f"no shortlist models: {exc}")
else:
    try:
        shortlist, _ = Shortlist.objects.get_or_create(
            slug="bench-30", defaults={"title": "Bench 30", "curator": user}
        )
        for endpoint_id in ids:
            ShortlistEntry.objects.get_or_create(
                shortlist=shortlist, endpoint_id=endpoint_id, defaults={"added_by": user}
            )
        out["shortlist"] = shortlist.slug
    except Exception as exc:  # the models are still being written by others
        out["notes"].append(f"could not create a shortlist: {type(exc).__name__}: {exc}")
print("BENCH-SETUP " + json.dumps(out))
"""


def make_site(
    root: Path,
    *,
    fal_api_url: str,
    redis_url: str = "",
    collectstatic: bool = True,
    shortlist_ids: list[str] | None = None,
    extra_env: dict[str, str] | None = None,
) -> Site:
    """Migrate a fresh SQLite database in `root`, collect static files, sign a user in."""
    root.mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "FAL_", "REDIS_", "CATALOG_", "DATABASE_", "WHITENOISE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{root / 'db.sqlite3'}",
        # DEBUG is off, where the settings refuse to start without a key.
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_CACHE_DIR=str(root / "cache"),
        DJANGO_STATIC_ROOT=str(root / "static"),
        FAL_API_URL=fal_api_url,
        FAL_API_MAX_RETRIES="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra_env or {})
    site = Site(root=root, env=env)
    site.manage("migrate", "--noinput", "--verbosity", "0")
    if collectstatic:
        site.manage("collectstatic", "--noinput", "--verbosity", "0")
    out = site.manage(
        "shell", "-c", _SETUP_SCRIPT.replace("IDS", repr(json.dumps(shortlist_ids or [])))
    )
    line = next(x for x in out.splitlines() if x.startswith("BENCH-SETUP "))
    data = json.loads(line.removeprefix("BENCH-SETUP "))
    site.session_cookie = data["session"]
    site.shortlist_slug = data["shortlist"]
    site.notes = data["notes"]
    return site


# --- gunicorn ---------------------------------------------------------------------------------


class Gunicorn:
    """`gunicorn -c config/gunicorn.conf.py` on a loopback port, in its own process group."""

    def __init__(self, site: Site, *, workers: int = 2, threads: int = 1, port: int = 0) -> None:
        self.site = site
        self.port = port or free_port()
        self.workers = workers
        self.threads = threads
        self.proc: subprocess.Popen | None = None
        self.log = site.root / f"gunicorn-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 60) -> Gunicorn:
        env = {
            **self.site.env,
            "GUNICORN_BIND": f"{HOST}:{self.port}",
            "WEB_CONCURRENCY": str(self.workers),
            "GUNICORN_THREADS": str(self.threads),
        }
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "gunicorn", "-c", str(ROOT / "config" / "gunicorn.conf.py")],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                status, _, _ = request(self.url, "/accounts/login/", timeout=2)
                if status == 200 and len(self.worker_pids()) >= self.workers:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout} s")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in children.split()]

    def rss_mb(self) -> dict[str, float]:
        """Resident memory of the master and each worker, in MB."""
        sizes = {}
        for label, pid in [("master", self.proc.pid if self.proc else 0)] + [
            (f"worker-{i}", pid) for i, pid in enumerate(self.worker_pids())
        ]:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes[label] = int(line.split()[1]) / 1024
        return sizes

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- HTTP on loopback -----------------------------------------------------------------------


def request(
    base_url: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], bytes]:
    """One GET to a loopback server on a new connection: (status, headers, body)."""
    if not base_url.startswith(f"http://{HOST}:"):
        raise ValueError(f"loopback only: {base_url}")
    port = int(base_url.rsplit(":", 1)[1].split("/")[0])
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()
