"""Scale-out, shown: two gunicorn servers sharing one Redis and one database serve one index.

One `manage.py catalog_sync` fills the index; both servers then show the same grid (the
same model count, the same first cards), and a burst of grid requests to both costs fal
nothing. A second sync, asked for with the staff button on one server and run by the task
worker, changes the index version, and the other server's next page shows the model that
sync added. The database is PostgreSQL when POSTGRES_TEST_URL is set (a fresh database on
that server, dropped afterwards), else one SQLite file both servers open.
"""

from __future__ import annotations

import http.client
import itertools
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest

from bench.harness import Gunicorn, Site, make_site  # a Django site: stays with the benchmark
from fal_emulator import Emulator, load_snapshot
from fal_emulator.testing import HOST, counting_emulator, request

pytestmark = pytest.mark.redis

CATALOG_SIZE = 300
ADDED = {
    "endpoint_id": "acme/rocket",
    "metadata": {"display_name": "Acme Rocket", "category": "llm", "status": "active"},
}
PATHS = ["/?category=image-to-video", "/?q=kling&license=commercial", "/?category=llm", "/"]
COUNT = re.compile(r'id="result-count"[^>]*><strong>(\d+)</strong> model')
CARD = re.compile(r'<article class="card[^"]*" data-endpoint-id="([^"]+)"')

_STAFF_SCRIPT = """
from django.contrib.auth import get_user_model
from django.test import Client
user = get_user_model().objects.create_user("staff", password="x", is_staff=True)
client = Client()
client.force_login(user)
print("STAFF-SESSION " + client.cookies["sessionid"].value)
"""
_VERSION_SCRIPT = """
from catalog.models import IndexState
print("INDEX-VERSION", IndexState.objects.get(pk=1).version)
"""


@pytest.fixture
def database_url(tmp_path):
    """A fresh database for the site: on POSTGRES_TEST_URL's server, or a SQLite file."""
    base = os.environ.get("POSTGRES_TEST_URL", "")
    if not base:
        yield f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        return
    import psycopg

    name = f"scale_out_{secrets.token_hex(4)}"
    # The server's maintenance database: POSTGRES_TEST_URL's own need not exist yet.
    base = urlunsplit(urlsplit(base)._replace(path="/postgres"))
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def small_catalog() -> tuple[list[dict], dict[str, dict]]:
    """The first CATALOG_SIZE models of the snapshot and their documents."""
    models, documents = load_snapshot()
    models = models[:CATALOG_SIZE]
    ids = {m["endpoint_id"] for m in models}
    return models, {i: document for i, document in documents.items() if i in ids}


def get(server: Gunicorn, path: str, cookie: str, headers: dict | None = None) -> str:
    status, _, body = request(
        server.url, path, headers={**(headers or {}), "Cookie": f"sessionid={cookie}"}, timeout=60
    )
    assert status == 200, (server.url, path, status)
    return body.decode()


def grid(server: Gunicorn, cookie: str, path: str = "/") -> tuple[int, list[str]]:
    """(model count, endpoint ids of the cards shown) of one grid page."""
    html = get(server, path, cookie)
    count = COUNT.search(html)
    assert count, f"no model count on {server.url}{path}"
    return int(count.group(1)), CARD.findall(html)


def burst(servers: list[Gunicorn], cookie: str, rounds: int = 3) -> list[tuple]:
    """Every path from every server, `rounds` times over, all at once; returns what each
    answer showed: (path, status, model count, error banners)."""
    jobs = [
        (server, path, {"HX-Request": "true"} if i % 2 else {})
        for i in range(rounds)
        for server in servers
        for path in PATHS
    ]
    barrier = threading.Barrier(len(jobs))
    shown: list[tuple] = [()] * len(jobs)

    def one(n: int, server: Gunicorn, path: str, headers: dict[str, str]) -> None:
        barrier.wait()
        status, _, body = request(
            server.url, path, headers={**headers, "Cookie": f"sessionid={cookie}"}, timeout=60
        )
        html = body.decode()
        count = COUNT.search(html)
        errors = html.count("banner-error") + html.count("Traceback")
        shown[n] = (path, status, int(count.group(1)) if count else None, errors)

    threads = [threading.Thread(target=one, args=(n, *job)) for n, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return shown


def press_refresh(server: Gunicorn, cookie: str) -> int:
    """The staff "Sync now" button on /catalog/sync/: a POST with the page's CSRF token."""
    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", "/catalog/sync/", headers={"Cookie": f"sessionid={cookie}"})
        page = conn.getresponse()
        html = page.read().decode()
        assert page.status == 200, page.status
        csrf_cookie = re.search(r"csrftoken=([^;]+)", page.getheader("Set-Cookie") or "")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert csrf_cookie and token, "no CSRF token on the sync page"
        conn.request(
            "POST",
            "/catalog/sync/request/",
            body=urlencode({"csrfmiddlewaretoken": token.group(1)}),
            headers={
                "Cookie": f"sessionid={cookie}; csrftoken={csrf_cookie.group(1)}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def index_version(site: Site) -> int:
    out = site.manage("shell", "-c", _VERSION_SCRIPT)
    return int(next(x for x in out.splitlines() if x.startswith("INDEX-VERSION")).split()[1])


def test_two_app_servers_sharing_redis_serve_one_index(tmp_path, redis_url, database_url):
    with counting_emulator(emulator=Emulator(*small_catalog())) as (upstream_server, upstream):
        site = make_site(
            tmp_path,
            fal_api_url=upstream_server.url,
            redis_url=redis_url,
            extra_env={"DATABASE_URL": database_url, "CATALOG_SYNC_MAX_RPS": "0"},
        )
        out = site.manage("catalog_sync", "--quiet")
        assert f"{CATALOG_SIZE} models" in out and f"{CATALOG_SIZE} added" in out
        synced = index_version(site)
        out = site.manage("shell", "-c", _STAFF_SCRIPT)
        staff = next(x for x in out.splitlines() if x.startswith("STAFF-SESSION")).split()[1]
        cookie = site.session_cookie
        with Gunicorn(site, workers=2) as first, Gunicorn(site, workers=2) as second:
            assert first.port != second.port
            # The same index from both: the same count and the same first cards.
            asked = upstream.count
            for path in ("/", "/?category=text-to-image", "/?q=flux&sort=name"):
                on_first, on_second = grid(first, cookie, path), grid(second, cookie, path)
                assert on_first == on_second, path
                assert on_first[0] > 0 and on_first[1], path
            assert grid(first, cookie)[0] == CATALOG_SIZE
            counts = {path: grid(first, cookie, path)[0] for path in PATHS}
            answers = burst([first, second], cookie)
            assert answers == [(path, 200, counts[path], 0) for path, *_ in answers]
            assert upstream.count == asked, "serving pages asked fal"
            assert "acme/rocket" not in get(second, "/?q=rocket", cookie)

            # fal's catalog grows; staff ask the first server for a sync; the worker runs it.
            models, documents = small_catalog()
            upstream.app = Emulator([ADDED, *models], documents)
            assert press_refresh(first, staff) == 302
            site.manage("db_worker", "--batch", "--no-startup-delay", "--verbosity", "0")
            assert index_version(site) != synced
            sync_page = get(second, "/catalog/sync/", staff)
            assert sync_page.count('class="sync-succeeded"') == 2
            # The second server's next pages show the model the first server's sync added.
            count, cards = grid(second, cookie)
            assert count == CATALOG_SIZE + 1
            assert grid(first, cookie) == (count, cards)
            assert "acme/rocket" in grid(second, cookie, "/?q=rocket")[1]
            assert "Acme Rocket" in get(second, "/?q=acme+rocket", cookie)
        assert first.proc.poll() is not None and second.proc.poll() is not None


_SCHEDULE_SCRIPT = """
from catalog.models import SyncRun
from django_tasks_db.models import DBTaskResult
for task in DBTaskResult.objects.filter(task_path__endswith="sync_catalog_scheduled"):
    print("TASK", task.status, task.worker_ids)
for run in SyncRun.objects.order_by("started_at"):
    end = run.finished_at or run.started_at
    print("RUN", run.trigger, run.state, run.started_at.timestamp(), end.timestamp())
"""


def spawn(site: Site, *args: str) -> subprocess.Popen:
    """A long-running `manage.py` command of the site, in its own process group."""
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=Path(__file__).resolve().parents[2],
        env=site.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> str:
    """Stop a spawned command and its children; what it wrote to stderr."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    return err.decode(errors="replace")


def test_two_schedulers_and_two_workers_run_one_sync_per_interval(
    tmp_path, redis_url, database_url
):
    """`manage.py crontask` and `manage.py db_worker` twice each (as on two servers), on one
    database and one Redis: one scheduler leads, so each interval enqueues one sync, and
    the two workers never run two syncs at once."""
    interval = 5
    with counting_emulator(emulator=Emulator(*small_catalog())) as (upstream_server, _):
        site = make_site(
            tmp_path,
            fal_api_url=upstream_server.url,
            redis_url=redis_url,
            collectstatic=False,
            extra_env={
                "DATABASE_URL": database_url,
                "CATALOG_SYNC_MAX_RPS": "0",
                "CATALOG_SYNC_INTERVAL": str(interval),
            },
        )
        procs = [spawn(site, "crontask") for _ in range(2)]
        procs += [spawn(site, "db_worker", "--interval", "0.5") for _ in range(2)]
        started = time.monotonic()
        try:
            time.sleep(interval * 5)
        finally:
            errors = [stop(proc) for proc in procs]
        elapsed = time.monotonic() - started
        out = site.manage("shell", "-c", _SCHEDULE_SCRIPT)
    tasks = [line.split()[1] for line in out.splitlines() if line.startswith("TASK ")]
    runs = [line.split()[1:] for line in out.splitlines() if line.startswith("RUN ")]
    assert not any("Traceback" in err for err in errors), errors
    # Ticks at interval, 2x, 3x... after the leader started (Django takes a few seconds to
    # start): at most one enqueued sync per interval; two leaders would enqueue twice that.
    assert 2 <= len(tasks) <= elapsed // interval, (tasks, elapsed)
    scheduled = [run for run in runs if run[0] == "scheduled"]
    assert scheduled and all(state == "succeeded" for _, state, *_ in scheduled), runs
    # One sync at a time across both workers: each starts after the one before finished.
    spans = [(float(start), float(end)) for *_, start, end in runs]
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans)), spans
