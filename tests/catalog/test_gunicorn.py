"""The app as it runs: gunicorn with two workers of several threads each, on the default
file cache or on Redis, two members signed in at once, and a sync made by another
process (`manage.py catalog_sync`) seen by every answer after it.

Checks are on what the pages say (the model count, the cards, whose page it is, no error
banner), not on status codes alone.
"""

from __future__ import annotations

import re
import threading

import pytest

from bench.harness import Gunicorn, Site, make_site
from fal_emulator import Emulator, load_snapshot
from fal_emulator.testing import counting_emulator, request

SIZE = 120
ADDED = {
    "endpoint_id": "acme/rocket",
    "metadata": {"display_name": "Acme Rocket", "category": "llm", "status": "active"},
}
PATHS = ["/", "/?category=text-to-image", "/?q=flux&sort=name", "/?q=rocket", "/shortlists/"]
COUNT = re.compile(r'id="result-count"[^>]*><strong>(\d+)</strong> model')
CARD = re.compile(r'<article class="card[^"]*" data-endpoint-id="([^"]+)"')
SIGNED_IN = re.compile(r"Sign out (\w+)</button>")

_MEMBER_SCRIPT = """
from django.contrib.auth import get_user_model
from django.test import Client
from catalog.feeds import feed_token
client = Client()
user = get_user_model().objects.create_user("max", password="x")
client.force_login(user)
print("MEMBER-SESSION " + client.cookies["sessionid"].value + " " + feed_token(user))
"""


def catalog(extra: list[dict] = ()) -> Emulator:
    models, documents = load_snapshot()
    models = models[:SIZE]
    ids = {m["endpoint_id"] for m in models}
    return Emulator([*extra, *models], {i: d for i, d in documents.items() if i in ids})


def page(server: Gunicorn, path: str, cookie: str, htmx: bool = False) -> dict:
    """What one answer shows: status, whose page, model count, cards, error banners."""
    headers = {"Cookie": f"sessionid={cookie}", **({"HX-Request": "true"} if htmx else {})}
    status, _, body = request(server.url, path, headers=headers, timeout=60)
    html = body.decode()
    count = COUNT.search(html)
    return {
        "status": status,
        "user": SIGNED_IN.findall(html),
        "count": int(count.group(1)) if count else None,
        "cards": CARD.findall(html),
        "errors": html.count("banner-error") + html.count("Traceback"),
    }


def feed(server: Gunicorn, token: str) -> str:
    """The changes feed as a feed reader gets it: no session, the subscription token."""
    status, _, body = request(server.url, f"/changes/feed/?token={token}", timeout=60)
    assert status == 200
    return body.decode()


def burst(server: Gunicorn, members: dict[str, str], rounds: int = 3) -> list[tuple]:
    """Every path for every member, `rounds` times, full pages and htmx, all at once."""
    jobs = [(name, path, bool(i % 2)) for i in range(rounds) for name in members for path in PATHS]
    barrier = threading.Barrier(len(jobs))
    answers: list[tuple] = [()] * len(jobs)

    def one(n: int, name: str, path: str, htmx: bool) -> None:
        barrier.wait()
        answers[n] = (name, path, htmx, page(server, path, members[name], htmx))

    threads = [threading.Thread(target=one, args=(n, *job)) for n, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers


def check(answers: list[tuple], expected: dict[str, tuple[int, list[str]]]) -> None:
    for name, path, htmx, shown in answers:
        where = f"{name} {path} htmx={htmx}"
        assert shown["status"] == 200, where
        assert shown["errors"] == 0, where
        if not htmx:  # a fragment has no header; a full page is this member's, never another's
            assert shown["user"] == [name], where
        if path in expected:
            assert (shown["count"], shown["cards"]) == expected[path], where


def second_member(site: Site) -> tuple[str, str]:
    """Another member's session cookie and feed subscription token."""
    out = site.manage("shell", "-c", _MEMBER_SCRIPT)
    _, session, token = next(x for x in out.splitlines() if x.startswith("MEMBER-SESSION")).split()
    return session, token


@pytest.mark.parametrize("cache", ["file", pytest.param("redis", marks=pytest.mark.redis)])
def test_two_threaded_workers_serve_two_members_and_follow_a_sync(tmp_path, request, cache):
    redis_url = request.getfixturevalue("redis_url") if cache == "redis" else ""
    with counting_emulator(emulator=catalog()) as (server, upstream):
        site = make_site(
            tmp_path,
            fal_api_url=server.url,
            redis_url=redis_url,
            extra_env={"CATALOG_SYNC_MAX_RPS": "0", "GUNICORN_ACCESS_LOG": "-"},
        )
        assert f"{SIZE} models" in site.manage("catalog_sync", "--quiet")
        session, feed_token = second_member(site)
        members = {"bench": site.session_cookie, "max": session}
        with Gunicorn(site, workers=2, threads=4) as gunicorn:
            assert len(gunicorn.worker_pids()) == 2
            expected = {
                path: (shown["count"], shown["cards"])
                for path in PATHS[:4]
                for shown in [page(gunicorn, path, members["bench"])]
            }
            assert expected["/"][0] == SIZE and len(expected["/"][1]) > 0
            assert expected["/?q=rocket"][0] == 0
            asked = upstream.count
            check(burst(gunicorn, members), expected)
            assert upstream.count == asked, "serving pages asked fal"

            # fal's catalog grows; another process syncs; every answer after shows it.
            upstream.app = catalog([ADDED])
            assert "1 added" in site.manage("catalog_sync", "--quiet")
            after = page(gunicorn, "/", members["max"])
            assert after["count"] == SIZE + 1 and after["cards"][0] == "acme/rocket"
            rocket = page(gunicorn, "/?q=rocket", members["max"])
            assert rocket["count"] == 1 and rocket["cards"] == ["acme/rocket"]
            expected = {"/": (after["count"], after["cards"]), "/?q=rocket": (1, ["acme/rocket"])}
            check(burst(gunicorn, members), expected)

            # A feed reader's subscription link: served, and its token is not logged.
            assert "acme/rocket" in feed(gunicorn, feed_token)
        log = gunicorn.log.read_text()
        assert "Traceback" not in log and " 500 " not in log
        assert "GET /changes/feed/?token=[redacted] HTTP/1.1" in log and feed_token not in log
