"""Soak: gunicorn under steady load while fal flips between healthy and failing, and syncs run.

    .venv/bin/python bench/soak.py [--seconds 45] [--clients 16] [--flip 3] [--workers 3]

Everything is on loopback: a fault-injecting upstream (fal_emulator/testing/faults.py) in this
process, gunicorn with the production settings module on a throw-away site
(bench/harness.py) whose index is synced once while fal is healthy, and client threads
with keep-alive connections browsing it. The upstream then flips every few seconds
between healthy and one failure mode after another, while `manage.py catalog_sync` runs
again and again (what the task worker does), each bounded by a timeout. Pages read the
index, so they must keep serving every page, with the whole catalog, whatever fal does;
a sync that meets a failure must fail on its own run row and leave the index as it was;
and once fal is healthy again a sync must succeed. Bounded in time (the load stops at the
deadline, each request and each sync times out) and in count (--max-requests). Prints a
summary and writes .cache/bench/soak-results.json (or --out): requests, status counts, server errors
(target 0), latency percentiles overall and while failing, the syncs (succeeded, failed
and why, timed out), the grid's model count before and after, upstream requests per
mode, and the servers' resident memory sampled each second.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import RESULTS_DIR  # noqa: E402
from bench.harness import PYTHON, Gunicorn, Site, make_site  # noqa: E402
from fal_emulator.testing import FAILURE_MODES, HOST, FaultUpstream  # noqa: E402

RESULTS = RESULTS_DIR / "soak-results.json"
SHORTLIST_IDS = ["fal-ai/flux/dev", "fal-ai/flux/schnell", "fal-ai/nano-banana-2/edit"]
HTMX = {"HX-Request": "true"}
# What a team browsing the dashboard asks for; each page gets a warm copy before the load.
URLS = [
    ("/", {}),
    ("/?q=flux", HTMX),
    ("/?category=text-to-image&sort=name", {}),
    ("/?license=research&status=all", HTMX),
    ("/?page=3", {}),
    ("/models/fal-ai/flux/dev/", {}),
    ("/schema/fal-ai/flux/dev/", HTMX),
    ("/models/fal-ai/nano-banana-2/edit/", {}),
    ("/compare/?endpoint_id=fal-ai/flux/dev&endpoint_id=fal-ai/flux/schnell", {}),
    ("/shortlists/", {}),
    ("/shortlists/bench-30/", {}),
    ("/shortlists/bench-30/export.csv", {}),
]
# Healthy, a failure, healthy, the next failure… (find404 is an answer, not a failure).
CYCLE = [mode for failure in FAILURE_MODES if failure != "find404" for mode in ("healthy", failure)]


def slope_per_minute(series: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    if len(series) < 2:
        return 0.0
    xs, ys = [x for x, _ in series], [y for _, y in series]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return round(cov / var * 60, 1) if var else 0.0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Load:
    """Client threads, each with one keep-alive connection, until the deadline."""

    def __init__(self, port: int, cookie: str, upstream: FaultUpstream, max_requests: int):
        self.port = port
        self.cookie = cookie
        self.upstream = upstream
        self.max_requests = max_requests
        self.lock = threading.Lock()
        self.statuses: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.failing_latencies: list[float] = []
        self.samples: list[str] = []  # the first few server errors, for the report
        self.count = itertools.count()

    def run(self, deadline: float, offset: int) -> None:
        conn = None
        for n in itertools.count(offset):
            if time.monotonic() >= deadline or next(self.count) >= self.max_requests:
                break
            path, headers = URLS[n % len(URLS)]
            failing = self.upstream.mode != "healthy"
            started = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
                conn.request("GET", path, headers={"Cookie": self.cookie, **headers})
                response = conn.getresponse()
                body = response.read()
                status = str(response.status)
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                status = f"transport error: {type(exc).__name__}"
                body = b""
                if conn is not None:
                    conn.close()
                conn = None
            elapsed = time.monotonic() - started
            with self.lock:
                self.statuses[status] += 1
                self.latencies.append(elapsed)
                if failing:
                    self.failing_latencies.append(elapsed)
                if not status.startswith(("2", "3")) and len(self.samples) < 10:
                    self.samples.append(f"{status} {path} {body[:200]!r}")
        if conn is not None:
            conn.close()


def sample_rss(server: Gunicorn, stop: threading.Event, series: list) -> None:
    started = time.monotonic()
    while not stop.wait(1.0):
        sizes = server.rss_mb()
        series.append((round(time.monotonic() - started, 1), round(sum(sizes.values()), 1)))


def flip(upstream: FaultUpstream, stop: threading.Event, every: float, log: list) -> None:
    for mode in itertools.cycle(CYCLE):
        upstream.set_mode(mode)
        log.append(mode)
        if stop.wait(every):
            break
    upstream.set_mode("healthy")


def sync_once(site: Site, timeout: float) -> dict:
    """`manage.py catalog_sync` in its own process, as the task worker would run it."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            [PYTHON, str(ROOT / "manage.py"), "catalog_sync", "--quiet"],
            cwd=ROOT,
            env=site.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"outcome": "timed out", "seconds": round(time.monotonic() - started, 1)}
    text = (done.stdout + done.stderr).strip().splitlines()
    last = text[-1] if text else ""
    if done.returncode == 0:
        outcome = "succeeded"
    elif "Another sync is running" in last:
        outcome = "busy"
    else:
        outcome = "failed"
    reason = re.sub(r"^.*Failed: ", "", last)[:160] if outcome == "failed" else ""
    return {"outcome": outcome, "seconds": round(time.monotonic() - started, 1), "reason": reason}


def sync_loop(site: Site, upstream: FaultUpstream, stop: threading.Event, every: float,
              timeout: float, log: list) -> None:  # fmt: skip
    while not stop.is_set():
        mode = upstream.mode
        run = sync_once(site, timeout)
        log.append({"mode_at_start": mode, **run})
        if stop.wait(every):
            break


def model_count(port: int, cookie: str) -> int | None:
    """The grid's "N models" for the whole catalog (status all): the index in use."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", "/?status=all", headers={"Cookie": cookie})
        body = conn.getresponse().read().decode("utf-8", "replace")
    finally:
        conn.close()
    found = re.search(r'id="result-count"[^>]*><strong>(\d+)</strong>', body)
    return int(found.group(1)) if found else None


def soak(args: argparse.Namespace) -> dict:
    root = Path(tempfile.mkdtemp(prefix="catalog-soak-"))
    try:
        with FaultUpstream(stall_seconds=args.timeout * 3) as upstream:
            site = make_site(
                root,
                fal_api_url=upstream.url,
                shortlist_ids=SHORTLIST_IDS,
                extra_env={
                    "DJANGO_SECRET_KEY": os.urandom(32).hex(),
                    "FAL_API_TIMEOUT": str(args.timeout),
                    "FAL_API_MAX_RETRIES": "1",
                    # A sync meeting 429s waits at most a second, and retries once.
                    "CATALOG_SYNC_MAX_RETRIES": "1",
                    "CATALOG_SYNC_RETRY_AFTER_CAP": "1",
                    "CATALOG_SYNC_MAX_RPS": "0",
                    "GUNICORN_LOG_LEVEL": "warning",
                },
            )
            first_sync = sync_once(site, 300)  # fal healthy: the index every page reads
            if first_sync["outcome"] != "succeeded":
                raise RuntimeError(f"the first sync did not succeed: {first_sync}")
            with Gunicorn(site, workers=args.workers) as server:
                cookie = f"sessionid={site.session_cookie}"
                for path, headers in URLS:  # warm: every page has a copy to fall back on
                    conn = http.client.HTTPConnection(HOST, server.port, timeout=60)
                    conn.request("GET", path, headers={"Cookie": cookie, **headers})
                    status = conn.getresponse().status
                    conn.close()
                    if status != 200:
                        raise RuntimeError(f"warming {path} answered {status}")
                rss_start = round(sum(server.rss_mb().values()), 1)
                models_before = model_count(server.port, cookie)
                stop = threading.Event()
                series: list = []
                modes: list = []
                syncs: list = []
                load = Load(server.port, cookie, upstream, args.max_requests)
                upstream.requests.clear()
                helpers = [
                    threading.Thread(target=sample_rss, args=(server, stop, series), daemon=True),
                    threading.Thread(
                        target=flip, args=(upstream, stop, args.flip, modes), daemon=True
                    ),
                    threading.Thread(
                        target=sync_loop,
                        args=(site, upstream, stop, args.sync_every, args.sync_timeout, syncs),
                        daemon=True,
                    ),
                ]
                for thread in helpers:
                    thread.start()
                started = time.monotonic()
                deadline = started + args.seconds
                clients = [
                    threading.Thread(target=load.run, args=(deadline, n), daemon=True)
                    for n in range(args.clients)
                ]
                for thread in clients:
                    thread.start()
                for thread in clients:
                    thread.join(timeout=args.seconds + 60)
                duration = time.monotonic() - started
                stop.set()
                for thread in helpers:
                    thread.join(timeout=args.sync_timeout + 5)
                upstream.set_mode("healthy")
                final_sync = sync_once(site, args.sync_timeout)  # fal is back
                models_after = model_count(server.port, cookie)
                rss_end = round(sum(server.rss_mb().values()), 1)
                log = Path(server.log).read_text(errors="replace")
            upstream_modes = Counter(r["mode"] for r in upstream.requests)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    total = sum(load.statuses.values())
    server_errors = sum(n for s, n in load.statuses.items() if s.startswith("5"))
    transport_errors = sum(n for s, n in load.statuses.items() if s.startswith("transport"))
    thirds = len(series) // 3
    middle = [rss for _, rss in series[thirds : 2 * thirds]] or [rss_start]
    last = [rss for _, rss in series[2 * thirds :]] or [rss_end]
    return {
        "seconds": round(duration, 1),
        "clients": args.clients,
        "workers": args.workers,
        "flip_every_seconds": args.flip,
        "fal_api_timeout": args.timeout,
        "modes_cycled": modes,
        "requests": total,
        "requests_per_second": round(total / duration, 1) if duration else 0,
        "statuses": dict(sorted(load.statuses.items())),
        "server_errors": server_errors,
        "transport_errors": transport_errors,
        "error_samples": load.samples,
        "tracebacks_in_server_log": log.count("Traceback (most recent call last)"),
        "latency_ms": {
            "p50": round(percentile(load.latencies, 50) * 1000, 1),
            "p95": round(percentile(load.latencies, 95) * 1000, 1),
            "p99": round(percentile(load.latencies, 99) * 1000, 1),
            "max": round(max(load.latencies, default=0) * 1000, 1),
        },
        "latency_while_failing_ms": {
            "requests": len(load.failing_latencies),
            "p99": round(percentile(load.failing_latencies, 99) * 1000, 1),
        },
        "upstream_requests_by_mode": dict(upstream_modes),
        "models_in_grid_before": models_before,
        "models_in_grid_after": models_after,
        "syncs": {
            "first_healthy": first_sync,
            "during_flips": Counter(run["outcome"] for run in syncs),
            "runs": syncs,
            "after_fal_healthy_again": final_sync,
        },
        "rss_mb": {
            "start": rss_start,
            "end": rss_end,
            "max": max((rss for _, rss in series), default=rss_end),
            "middle_third_mean": round(sum(middle) / len(middle), 1),
            "last_third_mean": round(sum(last) / len(last), 1),
            "last_third_slope_mb_per_min": slope_per_minute(series[2 * thirds :]),
            "series": series,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=45)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    parser.add_argument("--sync-every", type=float, default=1, help="seconds between syncs")
    parser.add_argument("--sync-timeout", type=float, default=60, help="per sync, seconds")
    parser.add_argument("--flip", type=float, default=3, help="seconds between upstream flips")
    parser.add_argument("--timeout", type=float, default=1.0, help="FAL_API_TIMEOUT")
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"default: {RESULTS}")
    args = parser.parse_args(argv)
    results = soak(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    rss = results["rss_mb"]
    latency = results["latency_ms"]
    print(
        f"soak: {results['requests']} requests in {results['seconds']} s "
        f"({results['requests_per_second']}/s), {results['clients']} clients, "
        f"{results['workers']} gunicorn workers, upstream flipping every {args.flip:g} s\n"
        f"  statuses: {results['statuses']}\n"
        f"  server errors: {results['server_errors']}, transport errors: "
        f"{results['transport_errors']}, tracebacks in the server log: "
        f"{results['tracebacks_in_server_log']}\n"
        f"  latency: p50 {latency['p50']} ms, p95 {latency['p95']} ms, p99 {latency['p99']} ms "
        f"(while failing: p99 {results['latency_while_failing_ms']['p99']} ms)\n"
        f"  upstream requests by mode: {results['upstream_requests_by_mode']}\n"
        f"  syncs while flipping: {dict(results['syncs']['during_flips'])}; after fal is "
        f"healthy again: {results['syncs']['after_fal_healthy_again']['outcome']}\n"
        f"  models in the grid: {results['models_in_grid_before']} before, "
        f"{results['models_in_grid_after']} after\n"
        f"  server RSS: {rss['start']} MB at start, {rss['end']} MB at end "
        f"(middle third {rss['middle_third_mean']} MB, last third {rss['last_third_mean']} MB, "
        f"{rss['last_third_slope_mb_per_min']} MB/min over the last third)\n"
        f"  written to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}"
    )
    ok = (
        results["server_errors"] == 0
        and results["transport_errors"] == 0
        and results["models_in_grid_before"] == results["models_in_grid_after"]
        and results["syncs"]["after_fal_healthy_again"]["outcome"] == "succeeded"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
