"""Write .cache/mutation/results.json from mutmut's results: counts and score, overall and
per package and module, and the survivors with the note each has in tests/mutation/notes.json
(a missing test added since, or why the mutant is equivalent); a survivor without a note is
marked as not reviewed. Mutants not checked yet (a run still under way) are counted apart.
With --sample N only the random sample of bin/mutation_sample.py counts, and each score
comes with its 95% interval (Wilson) and the number of mutants it was drawn from."""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from mutation_sample import sample
from mutation_state import MUTATION_DIR, ROOT

NOTES = ROOT / "tests" / "mutation" / "notes.json"  # written by people: in git
RESULTS = MUTATION_DIR / "results.json"  # generated: not in git


def main(patterns: list[str], out: Path = RESULTS, per_package: int | None = None) -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    everything = {}
    for line in listing.splitlines():
        name, sep, state = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            everything[name] = state
    drawn = sample(per_package) if per_package else None
    status = {
        name: state
        for name, state in everything.items()
        if (drawn is None or name in drawn)
        and (not patterns or any(fnmatch.fnmatch(name, p) for p in patterns))
    }
    notes = json.loads(NOTES.read_text())
    by_package = {
        package: tally(s for name, s in status.items() if name.split(".")[0] == package)
        for package in sorted({name.split(".")[0] for name in status})
    }
    if drawn is not None:
        for package, figures in by_package.items():
            figures["drawn_from"] = sum(1 for name in everything if name.split(".")[0] == package)
            figures["interval_95"] = wilson_interval(figures)
    by_module = {
        module: tally(s for name, s in status.items() if module_of(name) == module)
        for module in sorted({module_of(name) for name in status})
    }
    overall = tally(status.values())
    if drawn is not None:
        # Packages are drawn equally, not in proportion to their size: no overall score.
        overall["score"] = None
    survivors = [
        {"mutant": name, "status": state, "note": notes.get(name, "not reviewed yet")}
        for name, state in sorted(status.items())
        if state in ("survived", "no tests")
    ]
    result = {
        "scope": patterns or ["every module of [tool.mutmut] source_paths"],
        "sample_per_package": per_package,
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


def wilson_interval(figures: dict[str, object]) -> list[float] | None:
    """The 95% interval of a package's score estimated from its sample (Wilson score)."""
    killed = int(figures["killed"]) + int(figures["timeout"])  # type: ignore[call-overload]
    checked = killed + int(figures["survived"])  # type: ignore[call-overload]
    if not checked:
        return None
    z = 1.96
    p = killed / checked
    centre = (p + z * z / (2 * checked)) / (1 + z * z / checked)
    half = z * math.sqrt(p * (1 - p) / checked + z * z / (4 * checked * checked))
    half /= 1 + z * z / checked
    return [round(centre - half, 3), round(centre + half, 3)]


def module_of(mutant: str) -> str:
    """catalog.views.grid.x_index__mutmut_3 -> catalog.views.grid"""
    return mutant.rpartition(".")[0]


def summary(figures: dict[str, object]) -> str:
    interval = ""
    if "drawn_from" in figures:
        interval = f" (95%: {figures['interval_95']}, drawn from {figures['drawn_from']})"
    return (
        f"killed {figures['killed']}, survived {figures['survived']}, "
        f"timeout {figures['timeout']}, not checked yet {figures['not_checked']}, "
        f"score {figures['score']}{interval}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("patterns", nargs="*", help="mutant name globs (default: every mutant)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"default: {RESULTS}")
    parser.add_argument("--sample", type=int, help="count only the sample of N per package")
    args = parser.parse_args()
    main(args.patterns, args.out, args.sample)
