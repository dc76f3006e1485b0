"""The emulator's command line: `python -m fal_emulator` and `manage.py fal_emulator`.

`python -m fal_emulator --port N [--host 127.0.0.1] [--latency SECONDS] [--fault MODE]`
serves the bundled snapshot at `http://HOST:N/v1` until interrupted; `--latency` delays
every answer, `--fault` answers through `fal_emulator.testing.FaultUpstream` in that mode.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from fal_emulator.app import dated_emulator, snapshot_emulator
from fal_emulator.server import is_loopback, serve, with_latency
from fal_emulator.snapshot import history_dates
from fal_emulator.testing.faults import MODES, FaultUpstream


def start(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    latency: float = 0.0,
    fault: str | None = None,
    as_of: str | None = None,
) -> tuple[str, Callable[[], None]]:
    """Serve the bundled snapshot, or the bundled crawl of date `as_of` (slowed by `latency`,
    or in fault mode `fault`): (url, stop).

    Raises ValueError for a host that is not loopback or options that do not go together,
    OSError when the port cannot be bound.
    """
    if not is_loopback(host):
        raise ValueError(f"Refusing to serve on {host!r}: loopback addresses only")
    if not math.isfinite(latency) or latency < 0:
        raise ValueError(f"--latency must be a number of seconds >= 0, not {latency:g}")
    # Load the data before announcing the URL.
    app = dated_emulator(as_of) if as_of else snapshot_emulator()
    if fault is None:
        server = serve(with_latency(app, latency), host, port)
        return server.url, server.shutdown
    if latency:
        raise ValueError("--latency and --fault do not combine: the fault server has no WSGI")
    upstream = FaultUpstream(app, host=host, port=port)
    upstream.set_mode(fault)
    upstream.start()
    return upstream.url, upstream.stop


def wait_until_interrupted() -> None:
    """Sleep in short steps until Ctrl-C (short steps keep it responsive)."""
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(0.5)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fal_emulator",
        description="Serve fal's GET /v1/models from the bundled offline snapshot on loopback.",
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The CLI's options, shared with `manage.py fal_emulator`."""
    parser.add_argument("--port", type=int, required=True, help="TCP port (0: any free one)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="delay every answer by this many seconds"
    )
    parser.add_argument("--fault", choices=MODES, help="answer in this failure mode")
    parser.add_argument(
        "--as-of",
        choices=history_dates(),
        help="serve the catalog as the bundled crawl of this date recorded it",
    )


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """The `python -m fal_emulator` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    out = stdout or sys.stdout
    try:
        url, stop = start(
            host=args.host, port=args.port, latency=args.latency, fault=args.fault, as_of=args.as_of
        )
    except ValueError as exc:
        parser.error(str(exc))
    except OSError as exc:
        parser.exit(1, f"Cannot listen on {args.host}:{args.port}: {exc}\n")
    mode = f" ({args.fault})" if args.fault else ""
    print(f"fal emulator on {url}{mode}", file=out, flush=True)
    wait_until_interrupted()
    # A second Ctrl-C may cut shutdown short: the serving thread is a daemon anyway.
    with contextlib.suppress(KeyboardInterrupt):
        stop()
    return 0
