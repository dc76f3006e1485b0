"""The usage sync, measured: the calls to fal and the time of a 90-day sync of the whole team.

    .venv/bin/python bench/usage_sync.py [--runs 3]

A throw-away site (bench/harness.py) syncs the catalog (1,434 endpoints) from an emulator
on loopback that counts what reaches it, then runs `manage.py usage_sync` against it with
an admin key: usage for the demo team, analytics for every catalog endpoint and the one the
catalog lacks. Prints, per run, the calls the emulator counted and the sync's own time.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import make_site  # noqa: E402
from fal_emulator import snapshot_emulator  # noqa: E402
from fal_emulator.testing import counting_emulator  # noqa: E402
from fal_emulator.usage import OFFLINE_ADMIN_KEY  # noqa: E402

SUMMARY = re.compile(r"(\d+) calls to fal in ([\d.]+) s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="usage-bench-") as tmp,
        counting_emulator(emulator=snapshot_emulator()) as (server, counter),
    ):
        site = make_site(Path(tmp), fal_api_url=server.url, collectstatic=False)
        site.manage("catalog_sync", "--quiet", "--no-history")
        for run in range(1, args.runs + 1):
            counter.reset()
            started = time.monotonic()
            out = site.manage("usage_sync", FAL_ADMIN_KEY=OFFLINE_ADMIN_KEY, FAL_KEY="bench-key")
            wall = time.monotonic() - started
            match = SUMMARY.search(out)
            if match is None:
                print(out, file=sys.stderr)
                return 1
            print(
                f"run {run}: {counter.count} calls to fal (the sync counted {match[1]}), "
                f"sync {float(match[2]):.1f} s, command {wall:.1f} s with Django's start"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
