"""Vendored static files (static/vendor/<name>/) are exactly npm's: each file's sha512 is the
one VENDOR.json records beside npm's tarball integrity (bin/vendor-chartjs re-fetches)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

VENDOR = Path(__file__).resolve().parents[2] / "static" / "vendor"
MANIFESTS = sorted(VENDOR.glob("*/VENDOR.json"))


def sri(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def test_chart_js_is_vendored_at_a_pinned_version():
    chart = json.loads((VENDOR / "chartjs" / "VENDOR.json").read_text())
    assert chart["package"] == "chart.js" and chart["version"].count(".") == 2
    assert chart["integrity"].startswith("sha512-")


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.parent.name)
def test_every_vendored_file_has_the_recorded_integrity(manifest):
    recorded = json.loads(manifest.read_text())
    shipped = {p.name for p in manifest.parent.iterdir()} - {"VENDOR.json"}
    assert shipped == {Path(name).name for name in recorded["files"]}
    for name, integrity in recorded["files"].items():
        assert sri(manifest.parent / Path(name).name) == integrity, name
