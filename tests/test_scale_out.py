"""Scale-out, shown: two gunicorn servers sharing one Redis ask fal once per page between them."""

from __future__ import annotations

import threading

import pytest

from bench.harness import Gunicorn, make_site  # a Django site: stays with the benchmark
from fal.testing import counting_emulator, request

pytestmark = pytest.mark.redis

PATHS = ["/?category=image-to-video", "/?q=kling&license=commercial", "/?category=llm"]


def burst(servers: list[Gunicorn], cookie: str, rounds: int = 4) -> list[int]:
    """Every path from every server, `rounds` times over, all at once; returns the statuses."""
    jobs = [
        (server, path, {"HX-Request": "true"} if i % 2 else {})
        for i in range(rounds)
        for server in servers
        for path in PATHS
    ]
    barrier = threading.Barrier(len(jobs))
    statuses: list[int] = [0] * len(jobs)

    def get(n: int, server: Gunicorn, path: str, headers: dict[str, str]) -> None:
        barrier.wait()
        status, _, _ = request(
            server.url, path, headers={**headers, "Cookie": f"sessionid={cookie}"}, timeout=60
        )
        statuses[n] = status

    threads = [threading.Thread(target=get, args=(n, *job)) for n, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return statuses


def test_two_app_servers_sharing_redis_make_one_upstream_call_per_page(tmp_path, redis_url):
    # Each upstream answer takes 0.3 s, so the cold requests really do overlap.
    with counting_emulator(delay=0.3) as (upstream_server, upstream):
        site = make_site(tmp_path, fal_api_url=upstream_server.url, redis_url=redis_url)
        with Gunicorn(site, workers=2) as first, Gunicorn(site, workers=2) as second:
            assert first.port != second.port
            cold = burst([first, second], site.session_cookie)
            assert cold == [200] * len(cold)
            calls = upstream.per_request()
            assert calls and set(calls.values()) == {1}, calls
            warm = burst([first, second], site.session_cookie)
            assert warm == [200] * len(warm)
            assert upstream.per_request() == calls  # nothing new: both servers were warm
        assert first.proc.poll() is not None and second.proc.poll() is not None
