"""Bounded load from client threads on loopback: latencies, statuses, percentiles, req/s."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections import Counter

from fal_emulator.testing import request

HX = {"HX-Request": "true"}


@dataclasses.dataclass
class Load:
    latencies_ms: list[float]
    statuses: Counter[int]
    errors: int
    seconds: float

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile of the successful requests, in ms."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        rank = max(1, -(-len(ordered) * q // 100))
        return round(ordered[int(rank) - 1], 1)

    @property
    def rps(self) -> float:
        return round(len(self.latencies_ms) / self.seconds, 1) if self.seconds else 0.0

    def summary(self) -> dict:
        return {
            "requests": len(self.latencies_ms) + self.errors,
            "p50_ms": self.percentile(50),
            "p95_ms": self.percentile(95),
            "p99_ms": self.percentile(99),
            "max_ms": round(max(self.latencies_ms), 1) if self.latencies_ms else None,
            "rps": self.rps,
            "errors": self.errors,
            "statuses": dict(self.statuses),
        }


def load(
    url: str,
    cookie: str,
    paths: list[tuple[str, dict[str, str]]],
    *,
    clients: int,
    requests: int,
    max_seconds: float = 60,
) -> Load:
    """`requests` GETs over `paths` (round robin) from `clients` threads, each on a new
    connection; stops early at `max_seconds`. A non-200 answer or a failure is an error."""
    numbers = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    deadline = time.monotonic() + max_seconds
    headers_cookie = {"Cookie": f"sessionid={cookie}"} if cookie else {}

    def client() -> None:
        nonlocal errors
        while True:
            n = next(numbers)
            if n >= requests or time.monotonic() > deadline:
                return
            path, headers = paths[n % len(paths)]
            started = time.perf_counter()
            try:
                status, _, _ = request(url, path, headers={**headers, **headers_cookie}, timeout=60)
            except OSError:
                status = 0
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                statuses[status] += 1
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max_seconds + 60)
    return Load(latencies, statuses, errors, time.perf_counter() - started)


def warm(url: str, cookie: str, paths, *, workers: int, rounds: int = 6) -> None:
    """Send every path to (very likely) every worker, until a round has no slow request."""
    for _ in range(rounds):
        result = load(
            url, cookie, paths, clients=workers, requests=workers * len(paths) * 3, max_seconds=60
        )
        median = result.percentile(50) or 0
        if result.latencies_ms and max(result.latencies_ms) < 3 * median + 30:
            return


def fmt(summary: dict) -> str:
    return (
        f"p50 {summary['p50_ms']} ms  p95 {summary['p95_ms']} ms  p99 {summary['p99_ms']} ms  "
        f"{summary['rps']} req/s  errors {summary['errors']}"
    )
