# Shared by bin/serve and bin/test: find Python >= 3.12 and keep .venv in step with requirements.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }

find_python() {
  local candidates=()
  [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
  candidates+=(python3.14 python3.13 python3.12)
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  command -v pyenv >/dev/null 2>&1 && root="$(pyenv root)"
  if [ -f .python-version ]; then candidates+=("$root/versions/$(tr -d '[:space:]' < .python-version)/bin/python"); fi
  for dir in "$root"/versions/3.1[2-9]* /usr/local/bin /usr/bin; do
    for exe in "$dir"/bin/python3.1[2-9] "$dir"/python3.1[2-9]; do [ -x "$exe" ] && candidates+=("$exe"); done
  done
  candidates+=(python3)
  for exe in "${candidates[@]}"; do
    if command -v "$exe" >/dev/null 2>&1 && python_ok "$exe"; then command -v "$exe"; return 0; fi
  done
  echo "error: this project needs Python >= 3.12 (Django 6.1), and none was found." >&2
  echo "       Install one (python3.12 or newer), or point PYTHON=/path/to/python3.12 at it." >&2
  return 1
}

# ensure_venv REQUIREMENTS_FILE: create .venv and install only when the requirements changed.
ensure_venv() {
  local reqs="$1"
  if [ ! -x .venv/bin/python ] || ! python_ok .venv/bin/python; then
    local py; py="$(find_python)"
    echo "==> creating .venv with $py"
    rm -rf .venv
    "$py" -m venv .venv
  fi
  local stamp=".venv/.installed-$(basename "$reqs")"
  local digest; digest="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "==> installing $reqs"
    # The machine's pip config names optional local indexes; their absence is not news.
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$reqs" 2> >(grep -v "^WARNING: Location" >&2)
    echo "$digest" > "$stamp"
  fi
}
