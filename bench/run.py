"""Benchmark: upstream calls, latency, throughput and scale of the dashboard behind gunicorn.

`.venv/bin/python bench/run.py` needs no arguments: it starts the emulator over HTTP (with a
request counter) and gunicorn on loopback, prints what it measures and writes
`bench/results.json`. See bench/README.md for what each number means.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import PYTHON, ROOT, Gunicorn, Site, make_site  # noqa: E402
from fal.testing import CountingApp, counting_emulator, load_snapshot, request  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results.json"
CLIENTS = 16
WORKERS = (os.cpu_count() or 1) * 2 + 1  # config/gunicorn.conf.py's default
QUICK = os.environ.get("BENCH_QUICK") == "1"  # a smoke run while editing: fewer, smaller
REQUESTS = 96 if QUICK else 480  # per latency measurement, spread over CLIENTS
MAX_SECONDS = 60  # per latency measurement, whatever REQUESTS says
SCALE_SIZES = (1434, 10_000) if QUICK else (1434, 10_000, 100_000)
STATIC_COPY = "bench/grid-copy.html"  # the grid page's own bytes, served as a static file

QUERY = "video"  # typed letter by letter
CATEGORY = "image-to-video"
LICENSE = "commercial"
FILTERED = f"/?{urlencode({'category': 'text-to-image', 'license': LICENSE})}"
HX = {"HX-Request": "true"}


# --- Load --------------------------------------------------------------------------------------


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
    server: Gunicorn,
    cookie: str,
    paths: list[tuple[str, dict[str, str]]],
    *,
    clients: int = CLIENTS,
    requests: int = REQUESTS,
    max_seconds: float = MAX_SECONDS,
) -> Load:
    """`requests` GETs over `paths` (round robin) from `clients` threads, each on a new
    connection; stops early at `max_seconds`. A non-200 answer or a failure is an error."""
    numbers = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    deadline = time.monotonic() + max_seconds

    def client() -> None:
        nonlocal errors
        while True:
            n = next(numbers)
            if n >= requests or time.monotonic() > deadline:
                return
            path, headers = paths[n % len(paths)]
            started = time.perf_counter()
            try:
                status, _, _ = request(
                    server.url, path, headers={**headers, "Cookie": f"sessionid={cookie}"}
                )
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


def warm_workers(server: Gunicorn, cookie: str, paths, *, rounds: int = 6) -> None:
    """Send every path to (very likely) every worker, until a round has no slow request."""
    for _ in range(rounds):
        result = load(server, cookie, paths, clients=WORKERS, requests=WORKERS * len(paths) * 2)
        median = result.percentile(50) or 0
        if result.latencies_ms and max(result.latencies_ms) < 3 * median + 50:
            return


# --- The journey --------------------------------------------------------------------------------


def journey_steps(model_id: str, compare_ids: list[str], shortlist: str) -> list[tuple]:
    """(label, path, headers) of one scripted session, as the browser would send it."""
    steps: list[tuple] = [("open the grid", "/", {})]
    for n in range(1, len(QUERY) + 1):
        steps.append((f"type {QUERY[:n]!r}", f"/?{urlencode({'q': QUERY[:n]})}", HX))
    filters = {"q": QUERY, "category": CATEGORY}
    steps.append(("pick a category", f"/?{urlencode(filters)}", HX))
    filters["license"] = LICENSE
    steps.append(("pick a license", f"/?{urlencode(filters)}", HX))
    for page in (2, 3, 4):
        more = {**HX, "HX-Target": "load-more"}
        steps.append(
            (f"load more (page {page})", f"/?{urlencode({**filters, 'page': page})}", more)
        )
    steps.append(("open a model page", f"/models/{model_id}/", {}))
    steps.append(("its schema (lazy)", f"/models/{model_id}/schema/", HX))
    ids = urlencode([("endpoint_id", i) for i in compare_ids])
    steps.append(("compare 4 models", f"/compare/?{ids}", {}))
    if shortlist:
        steps.append(("open a 30-model shortlist", f"/shortlists/{shortlist}/", {}))
    return steps


def run_journey(server: Gunicorn, cookie: str, upstream: CountingApp, steps) -> dict:
    upstream.reset()
    rows = []
    for label, path, headers in steps:
        before = upstream.count
        started = time.perf_counter()
        try:
            status, _, body = request(
                server.url, path, headers={**headers, "Cookie": f"sessionid={cookie}"}, timeout=120
            )
        except OSError as exc:
            status, body = 0, str(exc).encode()
        ms = round((time.perf_counter() - started) * 1000, 1)
        note = "" if status == 200 else ("route missing?" if status == 404 else "error")
        rows.append(
            {
                "step": label,
                "path": path,
                "status": status,
                "ms": ms,
                "upstream_calls": upstream.count - before,
                "bytes": len(body),
                "note": note,
            }
        )
    per_request = upstream.per_request()
    return {
        "upstream_calls": upstream.count,
        "distinct_upstream_requests": len(per_request),
        "steps": rows,
    }


# --- Phases --------------------------------------------------------------------------------------


def single_flight(server: Gunicorn, cookie: str, upstream: CountingApp) -> dict:
    """32 concurrent cold requests for one page (each upstream answer slowed to 0.2 s)."""
    upstream.reset()
    upstream.delay = 0.2
    try:
        result = load(server, cookie, [("/?q=upscale", HX)], clients=32, requests=32)
    finally:
        upstream.delay = 0.0
    return {
        "upstream_calls": upstream.count,
        "distinct_upstream_requests": len(upstream.per_request()),
        "statuses": dict(result.statuses),
    }


def latency_suite(site: Site, upstream: CountingApp, model_id: str, compare_ids) -> dict:
    """Warm latencies of each page type and of a static file of the grid page's size."""
    compare = "/compare/?" + urlencode([("endpoint_id", i) for i in compare_ids])
    suites = {
        "grid": [("/", {})],
        "partial": [
            (FILTERED, HX),
            (f"/?{urlencode({'q': QUERY, 'category': CATEGORY})}", HX),
            (f"/?{urlencode({'category': 'image-to-image', 'sort': 'newest'})}", HX),
        ],
        "model_page": [(f"/models/{model_id}/", {})],
        "compare": [(compare, {})],
        "static": [(f"/static/{STATIC_COPY}", {})],
    }
    out: dict = {}
    with Gunicorn(site, workers=WORKERS) as server:
        for paths in suites.values():
            warm_workers(server, site.session_cookie, paths)
        upstream.reset()
        for name, paths in suites.items():
            out[name] = load(server, site.session_cookie, paths).summary()
            print(f"  {name:<11} {fmt(out[name])}")
        out["upstream_calls_during_load"] = upstream.count
        out["rss_mb"] = server.rss_mb()
    return out


# In a fresh process after catalog_warm: the whole catalog from the shared cache, then memoised.
MEMO_SCRIPT = """
import json, time
from catalog import services
started = time.perf_counter()
services.catalog_search()
assembled = (time.perf_counter() - started) * 1000
started = time.perf_counter()
for _ in range(100):
    services.catalog_search()
hit = (time.perf_counter() - started) * 10
numbers = {"assembled_ms": round(assembled, 1), "memo_hit_ms": round(hit, 3)}
print("BENCH-MEMO " + json.dumps(numbers))
"""


def scale_point(base: Site, size: int, root: Path) -> dict:
    """Filtered grid partial latency and server memory over a catalog of `size` models."""
    with counting_emulator(size) as (upstream_server, upstream):
        env = {
            **base.env,
            "DJANGO_CACHE_DIR": str(root / f"cache-{size}"),
            "FAL_API_URL": upstream_server.url,
        }
        site = dataclasses.replace(base, env=env)
        started = time.perf_counter()
        subprocess.run(
            [PYTHON, str(ROOT / "manage.py"), "catalog_warm"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=900,
        )
        warm_seconds = round(time.perf_counter() - started, 1)
        memo = site.manage("shell", "-c", MEMO_SCRIPT)
        memo = json.loads(memo.split("BENCH-MEMO ", 1)[1])
        paths = [(FILTERED, HX)]
        with Gunicorn(site, workers=WORKERS) as server:
            started = time.perf_counter()
            status, _, _ = request(
                server.url, FILTERED, headers={**HX, "Cookie": f"sessionid={site.session_cookie}"}
            )
            first_ms = round((time.perf_counter() - started) * 1000, 1)
            warm_workers(server, site.session_cookie, paths)
            single = load(server, site.session_cookie, paths, clients=1, requests=60)
            concurrent = load(server, site.session_cookie, paths, requests=240)
            rss = server.rss_mb()
    workers = [mb for name, mb in rss.items() if name.startswith("worker")]
    point = {
        "models": size,
        "catalog_warm_seconds": warm_seconds,
        "upstream_calls": upstream.count,
        "search_assembled_from_cache_ms": memo["assembled_ms"],
        "search_memo_hit_ms": memo["memo_hit_ms"],
        "first_request_ms": first_ms,
        "first_request_status": status,
        "partial_p50_ms": single.percentile(50),
        "partial_p95_ms": single.percentile(95),
        "partial_p95_ms_16_clients": concurrent.percentile(95),
        "partial_rps_16_clients": concurrent.rps,
        "errors": single.errors + concurrent.errors,
        "rss_mb": round(sum(rss.values()), 1),
        "rss_mb_per_worker_max": round(max(workers), 1) if workers else None,
        "workers": len(workers),
    }
    print(
        f"  {size:>7,} models: partial p95 {point['partial_p95_ms']} ms (1 client), "
        f"{point['partial_p95_ms_16_clients']} ms (16 clients); RSS {point['rss_mb']} MB "
        f"({point['workers']} workers, max {point['rss_mb_per_worker_max']} MB); "
        f"warm-up {warm_seconds} s, {point['upstream_calls']} upstream calls; "
        f"catalog_search() {memo['assembled_ms']} ms from the shared cache, "
        f"{memo['memo_hit_ms']} ms from the memo"
    )
    return point


# --- Reporting --------------------------------------------------------------------------------


def fmt(summary: dict) -> str:
    return (
        f"p50 {summary['p50_ms']} ms  p95 {summary['p95_ms']} ms  p99 {summary['p99_ms']} ms  "
        f"{summary['rps']} req/s  errors {summary['errors']}"
    )


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages: other work on the machine skews every number."""
    with contextlib.suppress(OSError):
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    return []


def machine() -> dict:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_gb = None
    with contextlib.suppress(OSError, ValueError):
        line = Path("/proc/meminfo").read_text().splitlines()[0]
        memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    import django

    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn_workers": WORKERS,
        "clients": CLIENTS,
    }


def main() -> int:
    started = time.perf_counter()
    results: dict = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_before": load_average(),
    }
    print(f"Machine: {results['machine']}; load average {results['load_average_before']}")
    real, _ = load_snapshot()
    ids = [m["endpoint_id"] for m in real]
    videos = [
        m["endpoint_id"] for m in real if (m.get("metadata") or {}).get("category") == CATEGORY
    ]
    model_id, compare_ids = videos[0], videos[:4]

    with tempfile.TemporaryDirectory(prefix="catalog-bench-") as tmp:
        root = Path(tmp)
        with counting_emulator() as (upstream_server, upstream):
            print("Setting up a site (migrate, collectstatic, a signed-in user, a shortlist)...")
            site = make_site(root / "site", fal_api_url=upstream_server.url, shortlist_ids=ids[:30])
            for note in site.notes:
                print(f"  note: {note}")
            steps = journey_steps(model_id, compare_ids, site.shortlist_slug)

            with Gunicorn(site, workers=WORKERS) as server:
                print(f"Journey on a cold cache ({server.url}, {WORKERS} workers):")
                cold = run_journey(server, site.session_cookie, upstream, steps)
                for row in cold["steps"]:
                    print(
                        f"  {row['step']:<26} {row['status']} {row['ms']:>8} ms  "
                        f"{row['upstream_calls']:>3} upstream  {row['note']}"
                    )
                warm = run_journey(server, site.session_cookie, upstream, steps)
                print(
                    f"  cold: {cold['upstream_calls']} upstream calls for "
                    f"{cold['distinct_upstream_requests']} distinct pages; "
                    f"warm: {warm['upstream_calls']} upstream calls"
                )
                flight = single_flight(server, site.session_cookie, upstream)
                print(
                    f"Single flight: 32 concurrent cold requests -> "
                    f"{flight['upstream_calls']} upstream call(s) {flight['statuses']}"
                )
                _, _, grid_page = request(
                    server.url, "/", headers={"Cookie": f"sessionid={site.session_cookie}"}
                )
            # The floor: the grid page's own bytes as a static file (whitenoise scans at start).
            copy = Path(site.env["DJANGO_STATIC_ROOT"]) / STATIC_COPY
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(grid_page)
            print(
                f"Warm latency, {CLIENTS} concurrent clients, grid page {len(grid_page):,} bytes:"
            )
            latency = latency_suite(site, upstream, model_id, compare_ids)

        print("Scale: filtered grid partial over synthetic catalogs (catalog_warm first):")
        scale = [scale_point(site, size, root) for size in SCALE_SIZES]

    grid_p95, static_p95 = latency["grid"]["p95_ms"], latency["static"]["p95_ms"]
    results.update(
        journey_upstream_calls_cold=cold["upstream_calls"],
        journey_distinct_pages_cold=cold["distinct_upstream_requests"],
        journey_upstream_calls_warm=warm["upstream_calls"],
        single_flight_upstream_calls=flight["upstream_calls"],
        grid_p50_ms=latency["grid"]["p50_ms"],
        grid_p95_ms=grid_p95,
        partial_p95_ms=latency["partial"]["p95_ms"],
        model_page_p95_ms=latency["model_page"]["p95_ms"],
        compare_p95_ms=latency["compare"]["p95_ms"],
        static_p95_ms=static_p95,
        grid_to_static_p95_ratio=(
            round(grid_p95 / static_p95, 2) if grid_p95 and static_p95 else None
        ),
        grid_page_bytes=len(grid_page),
        throughput_rps=latency["grid"]["rps"],
        errors=sum(latency[k]["errors"] for k in ("grid", "partial", "model_page", "compare")),
        scale=scale,
        details={
            "journey_cold": cold,
            "journey_warm": warm,
            "single_flight": flight,
            "latency": latency,
        },
        load_average_after=load_average(),
        seconds=round(time.perf_counter() - started, 1),
    )
    results["targets"] = targets(results)
    if QUICK:
        print("BENCH_QUICK=1: a smoke run; bench/results.json left alone.")
        return 0
    tmp_path = RESULTS.with_suffix(".json.tmp")
    tmp_path.write_text(json.dumps(results, indent=2) + "\n")
    tmp_path.replace(RESULTS)
    print("Targets:")
    for name, (ok, detail) in results["targets"].items():
        print(f"  [{'met' if ok else 'MISSED'}] {name}: {detail}")
    print(f"Wrote {RESULTS.relative_to(ROOT)} in {results['seconds']} s")
    return 0


def targets(r: dict) -> dict[str, tuple[bool, str]]:
    big = r["scale"][-1]
    ratio = r["grid_to_static_p95_ratio"]
    return {
        "warm journey: 0 upstream calls": (
            r["journey_upstream_calls_warm"] == 0,
            f"{r['journey_upstream_calls_warm']}",
        ),
        "cold journey: no more calls than distinct pages": (
            r["journey_upstream_calls_cold"] == r["journey_distinct_pages_cold"],
            f"{r['journey_upstream_calls_cold']} calls, {r['journey_distinct_pages_cold']} pages",
        ),
        "single flight: exactly 1": (
            r["single_flight_upstream_calls"] == 1,
            f"{r['single_flight_upstream_calls']}",
        ),
        "warm grid p95 within 3x static p95": (
            ratio is not None and ratio <= 3,
            f"{r['grid_p95_ms']} ms vs {r['static_p95_ms']} ms = {ratio}x",
        ),
        "filtered partial over 100,000 models: p95 < 100 ms": (
            big["partial_p95_ms"] is not None and big["partial_p95_ms"] < 100,
            f"{big['partial_p95_ms']} ms (1 client), "
            f"{big['partial_p95_ms_16_clients']} ms (16 clients)",
        ),
        "zero errors under load": (
            r["errors"] == 0 and all(not p["errors"] for p in r["scale"]),
            f"{r['errors']}",
        ),
    }


if __name__ == "__main__":
    sys.exit(main())
