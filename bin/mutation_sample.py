"""Print the names of a random sample of mutants, the same number from each package, one per
line, for `bin/mutation --sample N`: those of the sample not checked yet.

The whole set of mutants takes days on two cores (a surviving mutant of fal/ runs every test
that touches it, about two minutes), so a package's score is estimated from a random sample
of its mutants. The order is a fixed shuffle of each package's mutants, so a larger N keeps
the verdicts of a smaller one and only checks the mutants it adds; bin/mutation_results.py
--sample N reports the score of exactly those N per package, with its 95% interval.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

from mutation_state import MUTANTS

SEED = "issue-28"  # fixed: the sample of each N must stay the same from run to run


def sample(per_package: int, mutants: Path = MUTANTS) -> dict[str, int | None]:
    """The first `per_package` mutants of each package's fixed shuffle -> their exit code
    (None: not checked yet). mutants/ must hold a generated run (bin/mutation makes it)."""
    verdicts: dict[str, int | None] = {}
    for meta_path in sorted(mutants.rglob("*.py.meta")):
        verdicts.update(json.loads(meta_path.read_text())["exit_code_by_key"])
    by_package: dict[str, list[str]] = defaultdict(list)
    for name in sorted(verdicts):
        by_package[name.split(".")[0]].append(name)
    chosen = {}
    for package, names in sorted(by_package.items()):
        random.Random(f"{SEED}:{package}").shuffle(names)
        for name in names[:per_package]:
            chosen[name] = verdicts[name]
    return chosen


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("per_package", type=int, help="mutants drawn from each package")
    args = parser.parse_args()
    for name, exit_code in sample(args.per_package).items():
        if exit_code is None:
            print(name)
