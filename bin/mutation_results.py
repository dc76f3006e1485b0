"""Write .cache/mutation/results.json from mutmut's results: counts and score, overall and
per package and module, and the survivors with the note each has in tests/mutation/notes.json
(a missing test added since, or why the mutant is equivalent); a survivor without a note is
marked as not reviewed. Mutants not checked yet (a run still under way) are counted apart."""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from mutation_state import MUTATION_DIR, ROOT

NOTES = ROOT / "tests" / "mutation" / "notes.json"  # written by people: in git
RESULTS = MUTATION_DIR / "results.json"  # generated: not in git


def main(patterns: list[str], out: Path = RESULTS) -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    status = {}
    for line in listing.splitlines():
        name, sep, state = line.strip().rpartition(": ")
        wanted = not patterns or any(fnmatch.fnmatch(name, p) for p in patterns)
        if sep and "__mutmut_" in name and wanted:
            status[name] = state
    notes = json.loads(NOTES.read_text())
    by_package = {
        package: tally(s for name, s in status.items() if name.split(".")[0] == package)
        for package in sorted({name.split(".")[0] for name in status})
    }
    by_module = {
        module: tally(s for name, s in status.items() if module_of(name) == module)
        for module in sorted({module_of(name) for name in status})
    }
    overall = tally(status.values())
    survivors = [
        {"mutant": name, "status": state, "note": notes.get(name, "not reviewed yet")}
        for name, state in sorted(status.items())
        if state in ("survived", "no tests")
    ]
    result = {
        "scope": patterns or ["every module of [tool.mutmut] source_paths"],
        **overall,
        "by_package": by_package,
        "by_module": by_module,
        "survivors": survivors,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for package, figures in [*by_package.items(), ("all", overall)]:
        print(f"{package:14} {summary(figures)}")
    print(f"wrote {out}")


def tally(states: Iterable[str]) -> dict[str, object]:
    counts = Counter(states)
    killed, timeout = counts["killed"], counts["timeout"]
    # A mutant no test runs is as much a gap as one that survives them.
    survived = counts["survived"] + counts["no tests"]
    checked = killed + timeout + survived
    return {
        "killed": killed,
        "survived": survived,
        "timeout": timeout,
        "not_checked": counts["not checked"],
        "other": {
            k: v
            for k, v in counts.items()
            if k not in ("killed", "survived", "timeout", "no tests", "not checked")
        },
        "score": round((killed + timeout) / checked, 3) if checked else None,
    }


def module_of(mutant: str) -> str:
    """catalog.views.grid.x_index__mutmut_3 -> catalog.views.grid"""
    return mutant.rpartition(".")[0]


def summary(figures: dict[str, object]) -> str:
    return (
        f"killed {figures['killed']}, survived {figures['survived']}, "
        f"timeout {figures['timeout']}, not checked yet {figures['not_checked']}, "
        f"score {figures['score']}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("patterns", nargs="*", help="mutant name globs (default: every mutant)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"default: {RESULTS}")
    args = parser.parse_args()
    main(args.patterns, args.out)
