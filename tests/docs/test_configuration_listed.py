"""Every environment variable the settings read is in docs/operations.md's table, and
.env.example lists the same variables in the same order: one list, kept true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
READERS = [ROOT / "config" / "settings.py", ROOT / "config" / "gunicorn.conf.py"]
# os.environ.get("X"…), os.environ["X"], env_bool("X"…), env_list("X"…)
READ = re.compile(
    r"""(?:environ\.get|environ\[|env_bool|env_list)\(?\s*["']([A-Z][A-Z0-9_]*)["']"""
)
NOT_CONFIGURATION = {"DJANGO_SETTINGS_MODULE"}


def read_by_code() -> set[str]:
    return {n for path in READERS for n in READ.findall(path.read_text())} - NOT_CONFIGURATION


def in_the_doc() -> list[str]:
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, flags=re.MULTILINE)


def in_env_example() -> list[str]:
    text = (ROOT / ".env.example").read_text()
    return re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE)


def test_the_doc_lists_every_variable_the_code_reads_and_no_other():
    assert sorted(in_the_doc()) == sorted(read_by_code())


def test_env_example_lists_the_doc_s_variables_in_its_order():
    assert in_env_example() == in_the_doc()


def test_the_reader_finds_each_way_settings_read_a_variable():
    sample = 'os.environ.get("A_B", "") env_bool("C") env_list("D_1", "x") os.environ["E"]'
    assert READ.findall(sample) == ["A_B", "C", "D_1", "E"]
