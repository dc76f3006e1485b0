"""fal and its emulator stay pure Python: no module of them imports Django, and only they
import requests (import-linter holds the layers between our packages: pyproject.toml)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
FAL = ROOT / "fal"
PURE = (FAL, ROOT / "fal_emulator")
NO_DJANGO = (
    "import sys; assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), "
    "sorted(m for m in sys.modules if m.split('.')[0] == 'django')"
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# `__main__` runs the server when imported; its one import is fal_emulator.cli.
PURE_FILES = sorted(p for package in PURE for p in package.rglob("*.py"))
FAL_MODULES = sorted(module_name(p) for p in PURE_FILES if p.name != "__main__.py")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def top_level(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_the_package_has_the_modules_this_test_checks():
    expected = {
        "fal", "fal.capabilities", "fal.client", "fal.errors", "fal.openapi", "fal.types",
        "fal.units", "fal_emulator", "fal_emulator.app", "fal_emulator.cli", "fal_emulator.testing",
    }  # fmt: skip
    assert expected <= set(FAL_MODULES)


@pytest.mark.parametrize("module", FAL_MODULES)
def test_importing_a_fal_module_imports_no_django(module):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}; {NO_DJANGO}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("path", PURE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_fal_source_file_imports_django(path):
    assert "django" not in top_level(imported_modules(path))


def test_nothing_outside_fal_imports_requests():
    """catalog/ and config/ reach fal through fal.client; tests/ and bench/ may use requests."""
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("catalog", "config")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if top_level(imported_modules(path)) & {"requests", "urllib3"}
    ]
    assert offenders == []
