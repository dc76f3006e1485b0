"""Write mutation-results.json from mutmut's results: counts, score, and the survivors with
the note each has in bin/mutation_notes.json (a missing test added since, or why the
mutant is equivalent); a survivor without a note is marked as not reviewed."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(patterns: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    status = {}
    for line in out.splitlines():
        name, sep, state = line.strip().rpartition(": ")
        wanted = not patterns or any(fnmatch.fnmatch(name, p) for p in patterns)
        if sep and "__mutmut_" in name and wanted:
            status[name] = state
    counts = Counter(status.values())
    notes = json.loads((ROOT / "bin" / "mutation_notes.json").read_text())
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
    (ROOT / "mutation-results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"killed {killed}, survived {survived}, timeout {timeout}, score {result['score']}")


if __name__ == "__main__":
    main(sys.argv[1:])
