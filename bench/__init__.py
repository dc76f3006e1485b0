"""Benchmarks of the catalog (run.py, soak.py, profile_pages.py); docs/benchmarks.md says how."""

from __future__ import annotations

from pathlib import Path

# Run outputs are generated, not source: they go to the ignored .cache/, summaries to docs/.
RESULTS_DIR = Path(__file__).resolve().parent.parent / ".cache" / "bench"
