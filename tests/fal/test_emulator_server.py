"""`python -m fal_emulator` on loopback: the snapshot over HTTP, slowed by --latency, or faulty."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from fal_emulator import snapshot_emulator, with_latency
from fal_emulator.transport import WSGITransport

ROOT = Path(__file__).resolve().parent.parent.parent


@contextmanager
def emulator_process(*args: str) -> Iterator[str]:
    """Run `python -m fal_emulator --port 0 ARGS`; yields the base URL it announces."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fal_emulator", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("fal emulator on http://127.0.0.1:"), proc.stderr.read()
        yield line.split()[3]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_cli_serves_the_snapshot():
    with emulator_process() as url:
        response = requests.get(f"{url}/models", params={"limit": 2}, timeout=10)
    assert response.status_code == 200
    assert len(response.json()["models"]) == 2


def test_latency_delays_every_answer_by_at_least_that_long():
    with emulator_process("--latency", "0.3") as url:
        for _ in range(2):
            started = time.monotonic()
            response = requests.get(f"{url}/models", params={"limit": 1}, timeout=10)
            assert time.monotonic() - started >= 0.3
            assert response.status_code == 200


def test_fault_answers_in_that_mode():
    with emulator_process("--fault", "503") as url:
        response = requests.get(f"{url}/models", timeout=10)
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "service_unavailable"


def test_fault_find404_fails_find_mode_only():
    with emulator_process("--fault", "find404") as url:
        listed = requests.get(f"{url}/models", params={"limit": 1}, timeout=10)
        found = requests.get(f"{url}/models", params={"endpoint_id": "fal-ai/flux/dev"}, timeout=10)
    assert (listed.status_code, found.status_code) == (200, 404)


def test_the_cli_refuses_a_host_that_is_not_loopback():
    done = subprocess.run(
        [sys.executable, "-m", "fal_emulator", "--port", "0", "--host", "0.0.0.0"],  # noqa: S104
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "loopback addresses only" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "nope"], "invalid choice"),
        (["--latency", "-1"], "--latency must be"),
        (["--latency", "nan"], "--latency must be"),
        (["--latency", "0.1", "--fault", "503"], "do not combine"),
    ],
)
def test_the_cli_refuses_options_it_cannot_honour(args, message):
    done = subprocess.run(
        [sys.executable, "-m", "fal_emulator", "--port", "0", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert message in done.stderr


def test_with_latency_is_wsgi_middleware_in_code():
    session = requests.Session()
    session.mount("http://emulator.invalid/", WSGITransport(with_latency(snapshot_emulator(), 0.2)))
    started = time.monotonic()
    response = session.get("http://emulator.invalid/v1/models", params={"limit": 1}, timeout=5)
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 200
