"""The README and docs/ name only files and modules that exist (a map that lies misleads)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PACKAGES = ("accounts", "bench", "catalog", "config", "core", "fal", "fal_emulator", "tests",
            "usage")  # fmt: skip
# `code` spans and link targets; a path has a slash or a file suffix, a module a dot.
CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)\s#]+)")
PATH = re.compile(
    r"^(?:\.\./|\.?[\w-]+/)?[\w./-]*[\w-](?:/|\.(?:py|md|html|js|css|json|toml|txt|sh|yaml|gz|svg))?$"
)
DOTTED = re.compile(rf"^(?:{'|'.join(PACKAGES)})(?:\.\w+)+$")


def named(text: str) -> tuple[set[str], set[str]]:
    """(file paths, dotted module names) that a document names."""
    paths, modules = set(), set()
    spans = [m.group(1).strip() for m in CODE.finditer(text)]
    spans += [m.group(1) for m in LINK.finditer(text) if "://" not in m.group(1)]
    for span in spans:
        word = span.split()[0] if span.split() else ""
        word = word.rstrip(":,;")
        if DOTTED.match(word) and not word.endswith((".py", ".md", ".html", ".json", ".toml")):
            modules.add(word)
        elif (
            PATH.match(word)
            and not word.startswith("/")
            and ("/" in word or "." in word.lstrip("."))
            and word.split("/")[0].split(".")[0] in {*PACKAGES, "..", "docs", "templates",
                                                       "static", "bin", ".ci", "README",
                                                       "manage", "pyproject", "requirements",
                                                       "requirements-test", ".env"}
        ):  # fmt: skip
            paths.add(word)
    return paths, modules


def resolves(dotted: str) -> bool:
    """A module, or a name defined in the longest module prefix of `dotted`."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        target = module
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def test_there_is_a_readme_and_docs():
    assert (ROOT / "README.md").is_file()
    assert len(DOCUMENTS) > 1, "docs/ holds the architecture, operations and the rest"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_a_document_names_exists(document):
    paths, _ = named(document.read_text())
    base = document.parent
    missing = sorted(p for p in paths if not (ROOT / p).exists() and not (base / p).exists())
    assert missing == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_a_document_names_exists(document):
    _, modules = named(document.read_text())
    assert sorted(m for m in modules if not resolves(m)) == []


def test_the_checker_catches_a_file_and_a_module_that_are_gone():
    paths, modules = named(
        "See `catalog/services_gone.py`, [map](docs/nowhere.md) and `catalog.nowhere.thing`; "
        "`catalog/browse.py` and `catalog.browse.parse_grid_query` exist; `/compare/` is a URL."
    )
    assert paths == {"catalog/services_gone.py", "docs/nowhere.md", "catalog/browse.py"}
    assert modules == {"catalog.nowhere.thing", "catalog.browse.parse_grid_query"}
    assert not (ROOT / "catalog/services_gone.py").exists()
    assert not resolves("catalog.nowhere.thing")
    assert resolves("catalog.browse.parse_grid_query")
