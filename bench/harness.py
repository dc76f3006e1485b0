"""A throw-away Django site and gunicorn processes on loopback, for the benchmark and server tests.

A site is a SQLite database, a file cache, collected static files and a signed-in session;
gunicorn processes are always stopped. The Django-free doubles (the counting emulator, the
fault upstream, loopback requests) live in `fal_emulator.testing`. Every address is 127.0.0.1;
every loop is bounded in count or time.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fal_emulator.testing.loopback import HOST, free_port, request  # noqa: E402

PYTHON = sys.executable


# --- A throw-away site ------------------------------------------------------------------------


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

    def wait_until_idle(self, timeout: float = 300, quiet: float = 1.0) -> None:
        """Until the workers have used (almost) no CPU for `quiet` seconds: each has loaded
        and warmed its index (post_worker_init, seconds at 100,000 models), so what is
        measured next does not share the cores with a worker still starting."""
        window: list[tuple[float, int]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = time.monotonic()
            window = [(t, ticks) for t, ticks in window if now - t <= quiet]
            window.append((now, self._cpu_ticks()))
            if now - window[0][0] >= quiet * 0.9 and window[-1][1] - window[0][1] <= 2:
                return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn workers still busy after {timeout} s")

    def _cpu_ticks(self) -> int:
        """CPU time (clock ticks) the master and workers have used so far."""
        total = 0
        for pid in [self.proc.pid if self.proc else 0, *self.worker_pids()]:
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total

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
