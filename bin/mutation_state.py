"""Keep mutmut's verdicts outside mutants/, so a run resumes after mutants/ is gone.

mutmut records each mutant's verdict in mutants/<file>.meta, beside a hash of every mutated
function, and keeps a verdict only while its function's hash is unchanged. A run takes
longer than a session, so bin/mutation saves those two maps to .cache/mutation/state.json
after each run (`save`) and writes them back as meta files before the next (`restore`);
mutmut then regenerates the mutants and drops the verdicts of every function that has
changed since, just as it does between runs in one checkout. The state is generated, not
source: it is not in git (copy the file to resume in another checkout). MUTATION_STATE
names another file.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTATION_DIR = ROOT / ".cache" / "mutation"  # generated: verdicts and results (ignored)
STATE = Path(os.environ.get("MUTATION_STATE") or MUTATION_DIR / "state.json")
MUTANTS = ROOT / "mutants"


def save() -> None:
    state = {}
    for meta_path in sorted(MUTANTS.rglob("*.py.meta")):
        meta = json.loads(meta_path.read_text())
        verdicts = {k: v for k, v in sorted(meta["exit_code_by_key"].items()) if v is not None}
        state[str(meta_path.relative_to(MUTANTS).with_suffix(""))] = {
            "function_hashes": dict(sorted(meta["hash_by_function_name"].items())),
            "exit_codes": verdicts,
        }
    STATE.parent.mkdir(parents=True, exist_ok=True)
    STATE.write_text(json.dumps(state, indent=1) + "\n")
    print(f"saved {sum(len(s['exit_codes']) for s in state.values())} verdicts to {STATE.name}")


def restore() -> None:
    if not STATE.exists():
        return
    restored = 0
    for path, saved in json.loads(STATE.read_text()).items():
        meta_path = MUTANTS / (path + ".meta")
        if meta_path.exists():
            continue  # this checkout's own run is newer than the saved state
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "exit_code_by_key": saved["exit_codes"],
            "hash_by_function_name": saved["function_hashes"],
            "type_check_error_by_key": {},
            "durations_by_key": {},
            "estimated_durations_by_key": {},
        }
        meta_path.write_text(json.dumps(meta, indent=4))
        restored += len(saved["exit_codes"])
    if restored:
        print(f"restored {restored} verdicts from {STATE.name}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["save", "restore"], help=f"to or from {STATE}")
    {"save": save, "restore": restore}[parser.parse_args().action]()
