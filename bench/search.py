"""The search, measured: its scores on the judged set and its keystroke timings.

    .venv/bin/python bench/search.py

Prints success@5, top-1, precision@10 and zero-result phrases over
tests/catalog/search_judgements.json (the misses too), then the build time and the median
time of each benchmark query over the bundled 1,434 models and over 100,000. In process:
no server, no fal.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.helpers import (  # noqa: E402
    judge_search,
    judged_catalog,
    judged_search,
    search_judgements,
    search_scores_line,
    search_timings,
)

SIZES = (1434, 100_000)


def main() -> int:
    present, gone = judged_catalog()
    search = judged_search(present, gone)
    scores = judge_search(search, present, gone, search_judgements())
    print(search_scores_line(scores))
    for miss in scores["misses"]:
        print(f"  not first: {miss}")
    for q in scores["zero_results"]:
        print(f"  nothing found: {q!r}")
    for size in SIZES:
        print("\n".join(search_timings(present, size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
