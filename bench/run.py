"""Benchmark of the catalog index: upstream calls, latency, ratios to static, scale, browser.

`.venv/bin/python bench/run.py` needs no arguments: it serves the emulator over HTTP on
loopback (behind a request counter), builds throw-away sites, syncs them with
`manage.py catalog_sync`, runs gunicorn on loopback, prints what it measures and writes
`.cache/bench/results.json` (or `--out PATH`). docs/benchmarks.md says what each number means.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import RESULTS_DIR, browser  # noqa: E402
from bench.harness import Gunicorn, Site, make_site  # noqa: E402
from bench.loadgen import HX, fmt, load, warm  # noqa: E402
from fal_emulator import Emulator, load_snapshot, serve  # noqa: E402
from fal_emulator.server import with_latency  # noqa: E402
from fal_emulator.testing import CountingApp, request, synthetic_catalog  # noqa: E402
from fal_emulator.testing.loopback import HOST  # noqa: E402

RESULTS = RESULTS_DIR / "results.json"
QUICK = os.environ.get("BENCH_QUICK") == "1"  # a smoke run while editing: fewer, smaller
CLIENTS = 16
# Sync workers and 2 cores: the pages are CPU-bound (the index is in memory), so more
# processes than cores + 1 only add context switches and memory (the client threads of
# this benchmark share the same 2 cores).
WORKERS = int(os.environ.get("BENCH_WORKERS") or (os.cpu_count() or 1) + 1)
REQUESTS = 120 if QUICK else 640  # per latency measurement, spread over CLIENTS
MAX_SECONDS = 45  # per latency measurement, whatever REQUESTS says
SCALE_SIZES = (1434, 10_000) if QUICK else (1434, 10_000, 100_000)
# Above this size, only the first DOCUMENTED endpoints have an OpenAPI document; the rest
# answer the recorded "expansion_failed" object, as 514 of the real 1,434 do (see notes).
DOCUMENTED = 10_000
LATENCY = 0.15  # seconds per upstream request in the latency phase
SYNC_ENV = {"CATALOG_SYNC_MAX_RPS": "0", "GUNICORN_LOG_LEVEL": "warning"}

WORDS = ["video", "upscale", "flux", "kling", "lipsync", "whisper"]  # typed letter by letter
QUERY = "video"
FACETS = [("category", "image-to-video"), ("license", "commercial"), ("kind", "inference")]
FILTERED = f"/?{urlencode({'category': 'text-to-image', 'license': 'commercial'})}"


def keystroke(prefix: str, filters: Sequence[tuple[str, str]] = ()) -> tuple[str, dict[str, str]]:
    """The htmx request of the search box after a keystroke (trigger `q`, target results)."""
    path = "/?" + urlencode([("q", prefix), *filters])
    return path, {**HX, "HX-Trigger-Name": "q", "HX-Target": "results"}


def facet(filters: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """The htmx request of the filter form after a facet change (target results)."""
    return "/?" + urlencode(filters), {**HX, "HX-Trigger": "filters", "HX-Target": "results"}


# --- Sites, syncs and emulators ---------------------------------------------------------------


@contextlib.contextmanager
def emulator_server(size: int | None = None, *, latency: float = 0.0, documented: int = 0):
    """(url, counter): an emulator over the snapshot (or `size` synthetic models) on loopback,
    behind a request counter (and `latency` seconds per request); always shut down."""
    models, docs = synthetic_catalog(size) if size else load_snapshot()
    if documented:
        keep = {m["endpoint_id"] for m in models[:documented]}
        docs = {k: v for k, v in docs.items() if k in keep}
    counter = CountingApp(Emulator(models, docs))
    server = serve(with_latency(counter, latency), HOST, 0)
    try:
        yield server.url, counter, len(docs)
    finally:
        server.shutdown()


@contextlib.contextmanager
def serving(site: Site):
    """gunicorn on `site` once every worker has warmed up (post_worker_init): what a phase
    measures next is serving, not a worker still loading its index beside it."""
    with Gunicorn(site, workers=WORKERS) as server:
        server.wait_until_idle()
        yield server


def sync(site: Site, counter: CountingApp) -> dict:
    """`manage.py catalog_sync` in its own process: seconds, upstream calls, its summary."""
    counter.reset()
    started = time.perf_counter()
    out = site.manage("catalog_sync", "--quiet", timeout=900)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "upstream_calls": counter.count,
        "summary": out.strip().splitlines()[-1] if out.strip() else "",
    }


def get(server: Gunicorn, cookie: str, path: str, headers: dict | None = None):
    started = time.perf_counter()
    status, _, body = request(
        server.url, path, headers={**(headers or {}), "Cookie": f"sessionid={cookie}"}, timeout=120
    )
    return status, body, round((time.perf_counter() - started) * 1000, 1)


# --- Phases ------------------------------------------------------------------------------------


def journey_steps(models: list[dict]) -> tuple[list[tuple], set[str]]:
    """(label, path, headers) of one scripted session, and the labels that are keystrokes or
    filter picks (they must cost fal nothing)."""
    videos = [
        m["endpoint_id"]
        for m in models
        if (m.get("metadata") or {}).get("category") == "image-to-video"
    ]
    steps: list[tuple] = [("open the grid", "/", {})]
    typing: set[str] = set()
    for n in range(1, len(QUERY) + 1):
        label = f"type {QUERY[:n]!r}"
        steps.append((label, *keystroke(QUERY[:n])))
        typing.add(label)
    filters: list[tuple[str, str]] = [("q", QUERY)]
    for name, value in FACETS:
        filters.append((name, value))
        label = f"pick {name}={value}"
        steps.append((label, *facet(filters)))
        typing.add(label)
    for endpoint_id in videos[:2]:
        steps.append((f"model page {endpoint_id}", f"/models/{endpoint_id}/", {}))
        steps.append(("  its schema fragment", f"/schema/{endpoint_id}/", HX))
    ids = urlencode([("endpoint_id", i) for i in videos[:3]])
    steps.append(("compare 3", f"/compare/?{ids}", {}))
    return steps, typing


def journey(server: Gunicorn, cookie: str, counter: CountingApp, steps, typing) -> dict:
    counter.reset()
    rows = []
    for label, path, headers in steps:
        before = counter.count
        try:
            status, body, ms = get(server, cookie, path, headers)
        except OSError as exc:
            status, body, ms = 0, str(exc).encode(), None
        rows.append(
            {
                "step": label,
                "path": path,
                "status": status,
                "ms": ms,
                "upstream_calls": counter.count - before,
                "bytes": len(body),
            }
        )
        print(f"    {label:<44} {status} {ms:>7} ms {counter.count - before:>3} upstream")
    return {
        "upstream_calls": counter.count,
        "keystroke_upstream_calls": sum(r["upstream_calls"] for r in rows if r["step"] in typing),
        "errors": sum(r["status"] != 200 for r in rows),
        "steps": rows,
    }


def latency_phase(root: Path, static_env: dict[str, str]) -> dict:
    """fal 150 ms away: the first grid page after a sync, and keystrokes on a synced index."""
    with emulator_server(latency=LATENCY) as (url, counter, _):
        site = make_site(
            root, fal_api_url=url, collectstatic=False, extra_env={**SYNC_ENV, **static_env}
        )
        synced = sync(site, counter)
        print(f"  sync behind {LATENCY * 1000:.0f} ms: {synced['seconds']} s, "
              f"{synced['upstream_calls']} calls")  # fmt: skip
        counter.reset()
        with serving(site) as server:
            status, _, first_ms = get(server, site.session_cookie, "/")
            # Every worker has loaded the index (the first page of each), then keystrokes
            # for prefixes never asked before: one client, one at a time.
            warm(server.url, site.session_cookie, [("/", {})], workers=WORKERS)
            counter.reset()
            paths = [keystroke(w[:n]) for w in WORDS for n in range(1, len(w) + 1)]
            times = []
            for path, headers in paths:
                code, _, ms = get(server, site.session_cookie, path, headers)
                times.append(ms if code == 200 else float("inf"))
            calls = counter.count
    ordered = sorted(times)
    p95 = ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]
    return {
        "sync": synced,
        "first_grid_ms": first_ms,
        "first_grid_status": status,
        "keystroke_requests": len(times),
        "keystroke_p50_ms": ordered[len(ordered) // 2],
        "keystroke_p95_ms": p95,
        "keystroke_upstream_calls": calls,
    }


def ratio_phase(site: Site, models: list[dict]) -> dict:
    """Warm grid, compare of 3 and model page vs static files of their own sizes, 16 clients."""
    videos = [
        m["endpoint_id"]
        for m in models
        if (m.get("metadata") or {}).get("category") == "image-to-video"
    ]
    pages = {
        "grid": "/",
        "compare": "/compare/?" + urlencode([("endpoint_id", i) for i in videos[:3]]),
        "model_page": f"/models/{videos[0]}/",
        # Not a target: the smallest signed-in page (session, user, CSRF, the base template
        # and nothing of the catalog), the floor under every page above.
        "signed_in_floor": "/accounts/password_change/done/",
    }
    static_root = Path(site.env["DJANGO_STATIC_ROOT"])
    sizes = {}
    with serving(site) as server:
        for name, path in pages.items():
            status, body, _ = get(server, site.session_cookie, path)
            assert status == 200, (name, status)
            copy = static_root / "bench" / f"{name}-copy.html"
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(body)  # whitenoise reads STATIC_ROOT when gunicorn starts
            sizes[name] = len(body)
    out: dict = {"bytes": sizes}
    with serving(site) as server:
        for name, path in pages.items():
            static = f"/static/bench/{name}-copy.html"
            suites: list[tuple[str, list[tuple[str, dict[str, str]]]]] = [
                (name, [(path, {})]),
                (f"{name}_static", [(static, {})]),
            ]
            for label, paths in suites:
                warm(server.url, site.session_cookie, paths, workers=WORKERS)
                result = load(
                    server.url,
                    site.session_cookie,
                    paths,
                    clients=CLIENTS,
                    requests=REQUESTS,
                    max_seconds=MAX_SECONDS,
                )
                out[label] = result.summary()
                print(f"  {label:<18} {sizes[name]:>7} B  {fmt(out[label])}")
            p95, static = out[name]["p95_ms"], out[f"{name}_static"]["p95_ms"]
            out[f"{name}_ratio"] = round(p95 / static, 2) if p95 and static else None
        out["rss_mb"] = round(sum(server.rss_mb().values()), 1)
    return out


def scale_point(root: Path, size: int, static_env: dict[str, str]) -> dict:
    """A full sync of `size` synthetic models over HTTP, a resync, then the filtered partial."""
    documented = DOCUMENTED if size > DOCUMENTED else 0
    with emulator_server(size, documented=documented) as (url, counter, documents):
        site = make_site(
            root, fal_api_url=url, collectstatic=False, extra_env={**SYNC_ENV, **static_env}
        )
        first = sync(site, counter)
        again = sync(site, counter)
        counter.reset()
        with serving(site) as server:
            status, _, first_ms = get(server, site.session_cookie, FILTERED, HX)
            warm(server.url, site.session_cookie, [(FILTERED, HX), ("/", {})], workers=WORKERS)
            result = load(
                server.url,
                site.session_cookie,
                [(FILTERED, HX)],
                clients=CLIENTS,
                requests=REQUESTS // 2,
                max_seconds=MAX_SECONDS,
            )
            rss = server.rss_mb()
        calls_while_serving = counter.count
    db_mb = round((root / "db.sqlite3").stat().st_size / 1e6, 1)
    point = {
        "models": size,
        "documents_in_emulator": documents,
        "sync_seconds": first["seconds"],
        "sync_upstream_calls": first["upstream_calls"],
        "sync_summary": first["summary"],
        "resync_unchanged_seconds": again["seconds"],
        "resync_unchanged_upstream_calls": again["upstream_calls"],
        "list_pages": -(-size // 100),
        "first_partial_ms": first_ms,
        "first_partial_status": status,
        "partial_p50_ms_16_clients": result.percentile(50),
        "partial_p95_ms_16_clients": result.percentile(95),
        "partial_rps_16_clients": result.rps,
        "errors": result.errors,
        "upstream_calls_while_serving": calls_while_serving,
        "rss_mb": round(sum(rss.values()), 1),
        "rss_mb_by_process": {k: round(v, 1) for k, v in rss.items()},
        "database_mb": db_mb,
    }
    print(
        f"  {size:>7,} models: sync {first['seconds']} s / {first['upstream_calls']} calls "
        f"(resync {again['seconds']} s / {again['upstream_calls']} calls); partial p95 "
        f"{point['partial_p95_ms_16_clients']} ms at 16 clients; RSS {point['rss_mb']} MB; "
        f"database {db_mb} MB"
    )
    return point


# --- Reporting --------------------------------------------------------------------------------


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
    import gunicorn

    chromium = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        chromium = subprocess.run(
            [browser.CHROMIUM, "--version"], capture_output=True, text=True, timeout=20
        ).stdout.strip()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "chromium": chromium,
    }


def targets(r: dict) -> dict[str, dict]:
    big = r["scale"][-1]

    def target(value, goal: str, met: bool) -> dict:
        return {"value": value, "target": goal, "met": bool(met)}

    def at_most(value, limit) -> bool:
        return value is not None and value <= limit

    return {
        "keystroke_upstream_calls": target(
            r["keystroke_upstream_calls"], "0", r["keystroke_upstream_calls"] == 0
        ),
        "latency150_keystroke_p95_ms": target(
            r["latency150_keystroke_p95_ms"], "<= 50", at_most(r["latency150_keystroke_p95_ms"], 50)
        ),
        "latency150_first_grid_ms": target(
            r["latency150_first_grid_ms"], "<= 150", at_most(r["latency150_first_grid_ms"], 150)
        ),
        "grid_to_static_p95_ratio": target(
            r["grid_to_static_p95_ratio"], "<= 3", at_most(r["grid_to_static_p95_ratio"], 3)
        ),
        "compare_to_static_p95_ratio": target(
            r["compare_to_static_p95_ratio"], "<= 3", at_most(r["compare_to_static_p95_ratio"], 3)
        ),
        "model_page_to_static_p95_ratio": target(
            r["model_page_to_static_p95_ratio"],
            "<= 2",
            at_most(r["model_page_to_static_p95_ratio"], 2),
        ),
        "errors_under_load": target(r["errors_under_load"], "0", r["errors_under_load"] == 0),
        f"scale_{big['models']}_sync_seconds": target(
            big["sync_seconds"], "<= 120", at_most(big["sync_seconds"], 120)
        ),
        f"scale_{big['models']}_partial_p95_ms_16_clients": target(
            big["partial_p95_ms_16_clients"],
            "< 100",
            big["partial_p95_ms_16_clients"] is not None and big["partial_p95_ms_16_clients"] < 100,
        ),
        f"scale_{big['models']}_rss_mb": target(
            big["rss_mb"], "<= 1000", at_most(big["rss_mb"], 1000)
        ),
        "resync_unchanged_upstream_calls": target(
            r["resync_unchanged_upstream_calls"],
            f"== list pages ({r['resync_list_pages']})",
            r["resync_unchanged_upstream_calls"] == r["resync_list_pages"],
        ),
        "browser_facet_p95_ms": target(
            r["browser_facet_p95_ms"], "<= 150", at_most(r["browser_facet_p95_ms"], 150)
        ),
        "browser_keystroke_after_debounce_p95_ms": target(
            r["browser_keystroke_after_debounce_p95_ms"],
            "<= 80",
            at_most(r["browser_keystroke_after_debounce_p95_ms"], 80),
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"default: {RESULTS}")
    out = parser.parse_args(argv).out
    started = time.perf_counter()
    results: dict = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "workers": WORKERS,
        "worker_class": "sync (GUNICORN_THREADS=1)",
        "clients": CLIENTS,
        "load_average_before": load_average(),
    }
    print(f"Machine: {results['machine']}; {WORKERS} gunicorn workers; "
          f"load average {results['load_average_before']}")  # fmt: skip
    real, _ = load_snapshot()
    steps, typing = journey_steps(real)

    with tempfile.TemporaryDirectory(prefix="catalog-bench-") as tmp:
        root = Path(tmp)
        with emulator_server() as (url, counter, _):
            print("A fresh database: one sync, then the journey")
            site = make_site(root / "site", fal_api_url=url, extra_env=SYNC_ENV)
            cold_sync = sync(site, counter)
            print(f"  sync: {cold_sync['seconds']} s, {cold_sync['upstream_calls']} calls "
                  f"({cold_sync['summary']})")  # fmt: skip
            with serving(site) as server:
                walk = journey(server, site.session_cookie, counter, steps, typing)
            resync = sync(site, counter)
            print(f"  resync of the unchanged catalog: {resync['upstream_calls']} calls")
            print(f"Warm pages vs static files of their size, {CLIENTS} clients:")
            ratios = ratio_phase(site, real)
            print("Chromium: facet clicks and typing until htmx:afterSettle")
            with serving(site) as server:
                warm(server.url, site.session_cookie, [("/", {})], workers=WORKERS)
                in_browser = browser.measure(server.url, site.session_cookie)
            print(f"  facet p50 {in_browser['facet_ms_p50']} p95 {in_browser['facet_ms_p95']} ms; "
                  f"keystroke after debounce p50 {in_browser['keystroke_after_debounce_ms_p50']} "
                  f"p95 {in_browser['keystroke_after_debounce_ms_p95']} ms")  # fmt: skip
        print(f"fal behind {LATENCY * 1000:.0f} ms per request:")
        # The other sites share the first one's collected static files (the manifest).
        static_env = {"DJANGO_STATIC_ROOT": site.env["DJANGO_STATIC_ROOT"]}
        latency = latency_phase(root / "latency", static_env)
        print(f"  first grid {latency['first_grid_ms']} ms; keystrokes p50 "
              f"{latency['keystroke_p50_ms']} p95 {latency['keystroke_p95_ms']} ms, "
              f"{latency['keystroke_upstream_calls']} upstream calls")  # fmt: skip
        print("Scale: full sync over HTTP, resync, filtered partial at 16 clients:")
        scale = [scale_point(root / f"scale-{size}", size, static_env) for size in SCALE_SIZES]

    results.update(
        sync_upstream_calls_cold=cold_sync["upstream_calls"],
        sync_seconds_cold=cold_sync["seconds"],
        journey_upstream_calls_after_sync=walk["upstream_calls"],
        journey_upstream_calls_cold=cold_sync["upstream_calls"] + walk["upstream_calls"],
        keystroke_upstream_calls=walk["keystroke_upstream_calls"]
        + latency["keystroke_upstream_calls"],
        resync_unchanged_upstream_calls=resync["upstream_calls"],
        resync_list_pages=-(-len(real) // 100),
        latency150_keystroke_p95_ms=latency["keystroke_p95_ms"],
        latency150_first_grid_ms=latency["first_grid_ms"],
        grid_to_static_p95_ratio=ratios["grid_ratio"],
        compare_to_static_p95_ratio=ratios["compare_ratio"],
        model_page_to_static_p95_ratio=ratios["model_page_ratio"],
        signed_in_floor_to_static_p95_ratio=ratios["signed_in_floor_ratio"],
        errors_under_load=sum(
            v["errors"] for v in ratios.values() if isinstance(v, dict) and "errors" in v
        )
        + sum(p["errors"] for p in scale)
        + walk["errors"],
        browser_facet_p95_ms=in_browser["facet_ms_p95"],
        browser_keystroke_after_debounce_p95_ms=in_browser["keystroke_after_debounce_ms_p95"],
        scale=scale,
        notes=[
            f"gunicorn: {WORKERS} sync workers (cores + 1) on {os.cpu_count()} cores; the "
            "benchmark's client threads run on the same cores.",
            "Syncs run with CATALOG_SYNC_MAX_RPS=0 (no pacing): pacing is for fal's sake, "
            "and at the default 5 calls/s a 100,000-model sync would spend 2,200 s waiting.",
            f"Scale above {DOCUMENTED:,} models: only the first {DOCUMENTED:,} endpoints "
            "have an OpenAPI document in the emulator; the rest answer the recorded "
            "'expansion_failed' object (as 514 of the real 1,434 do). The sync still asks "
            "find mode for every endpoint, so the call count is that of a fully documented "
            "catalog; only the bytes are smaller (a fully documented 100,000 would be "
            "~640 MB of JSON in SQLite and in the page cache).",
            "Latencies include the client's own work (Python threads on the same machine).",
        ],
        details={
            "cold_sync": cold_sync,
            "journey": walk,
            "resync": resync,
            "ratios": ratios,
            "latency150": latency,
            "browser": in_browser,
        },
        load_average_after=load_average(),
        seconds=round(time.perf_counter() - started, 1),
    )
    results["targets"] = targets(results)
    print("Targets:")
    for name, t in results["targets"].items():
        print(f"  [{'met' if t['met'] else 'MISSED'}] {name}: {t['value']} (target {t['target']})")
    if QUICK:
        print(f"BENCH_QUICK=1: a smoke run; {out} left alone.")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = out.with_suffix(".json.tmp")
    tmp_path.write_text(json.dumps(results, indent=2) + "\n")
    tmp_path.replace(out)
    print(f"Wrote {out} in {results['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
