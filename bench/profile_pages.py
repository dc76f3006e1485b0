"""Where a warm page's time goes: cProfile of warm requests in one process, by component.

    .venv/bin/python bench/profile_pages.py [--requests 50]

Builds a throw-away site synced from the emulator over loopback (as bench/run.py does),
then, in a `manage.py shell` process, signs a member in with Django's test client, warms
each page and profiles `--requests` more of each: the grid, a compare of 3, a model page
and the filtered htmx partial. Prints, per request: wall time, SQL queries, and the
cumulative time of the parts worth naming (template rendering, the ETag middleware, the
session and user, the index lookup, the cards), then the top functions by own time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import make_site  # noqa: E402
from bench.run import SYNC_ENV, emulator_server, sync  # noqa: E402

SCRIPT = r"""
import cProfile, io, pstats, time
from urllib.parse import urlencode
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from fal.emulator import load_snapshot

N = REQUESTS
real, _ = load_snapshot()
videos = [m["endpoint_id"] for m in real
          if (m.get("metadata") or {}).get("category") == "image-to-video"]
pages = {
    "grid": ("/", {}),
    "compare": ("/compare/?" + urlencode([("endpoint_id", i) for i in videos[:3]]), {}),
    "model_page": (f"/models/{videos[0]}/", {}),
    "partial": ("/?category=text-to-image&license=commercial", {"HTTP_HX_REQUEST": "true"}),
}
# (label, filename fragment, function name): cumulative time is summed over matches.
PARTS = [
    ("template rendering", "django/template/base.py", "render"),
    ("  of which the cards' HTML (catalog_index.card_html)", "catalog/index.py", "card_html"),
    ("ETag middleware (page_etag: regex + md5)", "catalog/middleware.py", "page_etag"),
    ("  of which the token regex (re.sub)", "catalog/middleware.py", "blank"),
    ("session load", "sessions/backends/db.py", "load"),
    ("user (auth get_user)", "contrib/auth/__init__.py", "get_user"),
    ("catalog_index() (version check)", "catalog/index.py", "catalog_index"),
    ("catalog.grid(query)", "catalog/index.py", "grid"),
    ("SQL execute", "django/db/backends/utils.py", "execute"),
    ("CSRF middleware", "middleware/csrf.py", "process_response"),
    ("CSP middleware", "middleware/csp.py", "process_response"),
    ("view function", "catalog/views.py", "index"),
    ("view function", "catalog/views.py", "model_detail"),
    ("view function", "catalog/compare_views.py", "compare"),
]
user, _ = get_user_model().objects.get_or_create(username="bench")
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(user)
for name, (path, headers) in pages.items():
    for _ in range(3):
        assert client.get(path, **headers).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(path, **headers)
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for _ in range(N):
        response = client.get(path, **headers)
    profile.disable()
    wall = (time.perf_counter() - started) * 1000 / N
    stats = pstats.Stats(profile)
    print(f"\n=== {name} {path[:70]} — {len(response.content):,} bytes, "
          f"{wall:.1f} ms per request (under cProfile), {len(queries)} SQL queries")
    for q in queries.captured_queries:
        print(f"      SQL {q['time']}s {q['sql'][:110]}")
    seen = set()
    for label, fragment, func in PARTS:
        total = 0.0
        for (filename, _, funcname), (_, _, _, cum, _) in stats.stats.items():
            if fragment in filename and funcname == func:
                total = max(total, cum)  # recursive renders: the outermost is the max
        if total and (label, total) not in seen:
            seen.add((label, total))
            print(f"    {label:<55} {total * 1000 / N:7.2f} ms")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(12)
    print("\n".join(line for line in out.getvalue().splitlines()[7:] if line.strip()))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="catalog-profile-") as tmp,
        emulator_server() as (url, counter, _),
    ):
        site = make_site(Path(tmp), fal_api_url=url, extra_env=SYNC_ENV)
        sync(site, counter)
        print(site.manage("shell", "-c", SCRIPT.replace("REQUESTS", str(args.requests))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
