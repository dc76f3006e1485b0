"""Write .cache/mutation/results.json from mutmut's results: counts, score, and the survivors
with the note each has in tests/mutation/notes.json (a missing test added since, or why the
mutant is equivalent); a survivor without a note is marked as not reviewed."""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
from collections import Counter
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
    counts = Counter(status.values())
    notes = json.loads(NOTES.read_text())
    killed, timeout = counts["killed"], counts["timeout"]
    # A mutant no test runs is as much a gap as one that survives them.
    survived = counts["survived"] + counts["no tests"]
    checked = killed + timeout + survived
    survivors = [
        {"mutant": name, "status": state, "note": notes.get(name, "not reviewed yet")}
        for name, state in sorted(status.items())
        if state in ("survived", "no tests")
    ]
    result = {
        "scope": patterns or ["everything in [tool.mutmut] only_mutate"],
        "killed": killed,
        "survived": survived,
        "timeout": timeout,
        "other": {k: v for k, v in counts.items() if k not in ("killed", "survived", "timeout")},
        "score": round((killed + timeout) / checked, 3) if checked else None,
        "survivors": survivors,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"killed {killed}, survived {survived}, timeout {timeout}, score {result['score']}")
    print(f"wrote {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("patterns", nargs="*", help="mutant name globs (default: every mutant)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"default: {RESULTS}")
    args = parser.parse_args()
    main(args.patterns, args.out)
