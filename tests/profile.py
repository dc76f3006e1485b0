"""How many generated examples the property-based sweeps run: the full count in CI and by
default, a tenth with `bin/test --quick` (CATALOG_TEST_PROFILE=quick) for a fast local loop."""

from __future__ import annotations

import os

QUICK = os.environ.get("CATALOG_TEST_PROFILE", "").lower() == "quick" and not os.environ.get("CI")


def examples(full: int) -> int:
    return max(10, full // 10) if QUICK else full
