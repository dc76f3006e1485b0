"""Where a page's time goes: cProfile over warm in-process requests, on the real settings
(no test instrumentation) and an index synced from the bundled snapshot.

    .venv/bin/python bench/profile_pages.py                      # grid, compare, model page
    .venv/bin/python bench/profile_pages.py / "/?q=flux" --requests 200 --sort tottime
    .venv/bin/python bench/profile_pages.py "/?q=v" "/?q=vi" --once --htmx --plain  # cold

Prints each URL's time per request (with and without the profiler) and its SQL queries,
then the profile's top functions. `--once` asks each URL once, as a new query would be.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_PATHS = [
    "/",
    "/compare/?endpoint_id=fal-ai/flux/dev&endpoint_id=fal-ai/flux/schnell"
    "&endpoint_id=fal-ai/nano-banana-2",
    "/models/fal-ai/flux/dev/",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=DEFAULT_PATHS)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--sort", default="cumulative", help="pstats sort key")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--plain", action="store_true", help="time without the profiler")
    parser.add_argument("--curator", action="store_true", help="sign in as a curator")
    parser.add_argument("--htmx", action="store_true", help="send HX-Request (a fragment)")
    parser.add_argument(
        "--once", action="store_true", help="ask each path once, cold, and time each request"
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="catalog-profile-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{root / 'db.sqlite3'}",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_CACHE_DIR=str(root / "cache"),
        DJANGO_STATIC_ROOT=str(root / "static"),
        DJANGO_ALLOWED_HOSTS="testserver",
        FAL_API_URL="",
    )
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from catalog.index import warm_up
    from catalog.sync import sync_catalog

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    sync_catalog(trigger="profile")
    user = User.objects.create_user("profile")
    if args.curator:
        user.groups.add(Group.objects.get(name="curator"))
    client = Client(headers={"HX-Request": "true"} if args.htmx else {})
    client.force_login(user)

    profile = cProfile.Profile()
    if args.once:
        warm_up()  # as each gunicorn worker does: the index, its search and every card
        client.get("/")  # and the templates, as the benchmark's warm-up request does
        for path in args.paths:
            started = time.perf_counter()
            if not args.plain:
                profile.enable()
            status = client.get(path).status_code
            profile.disable()
            label = "" if args.plain else " (profiled)"
            print(f"{path}: {status}, {(time.perf_counter() - started) * 1000:.1f} ms{label}")
        if not args.plain:
            pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
        return
    for path in args.paths:
        for _ in range(10):  # warm: the index loaded, its cards rendered
            status = client.get(path).status_code
        started = time.perf_counter()
        for _ in range(args.requests):
            client.get(path)
        plain_ms = (time.perf_counter() - started) / args.requests * 1000
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        queries = [query["sql"] for query in captured.captured_queries]
        started = time.perf_counter()
        profile.enable()
        for _ in range(args.requests):
            client.get(path)
        profile.disable()
        mean_ms = (time.perf_counter() - started) / args.requests * 1000
        print(f"{path}: {status}, {plain_ms:.2f} ms a request ({mean_ms:.2f} profiled), "
              f"{len(queries)} queries")  # fmt: skip
        for query in queries:
            print("   ", query[:160])
    pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
