"""The compare page on the offline snapshot: matrix logic, validation, one upstream request."""

from __future__ import annotations

from types import SimpleNamespace

from catalog.compare import build_matrix, markdown, overview_rows
from catalog.schema import SchemaField


def stand_in_card(endpoint_id: str, name: str) -> SimpleNamespace:
    """The attributes of catalog.cards.Card that compare.py reads."""
    return SimpleNamespace(
        endpoint_id=endpoint_id, name=name, category="", license="unknown", group_label="",
        kind="", status="", duration_estimate=None, tags=(), created=None, updated=None,
        model_url="", stream_url="", github_url="", github_is_license=False,
    )  # fmt: skip


def field(name: str, **kwargs) -> SchemaField:
    return SchemaField(name=name, type=kwargs.pop("type", "string"), **kwargs)


def test_rows_common_to_all_first_then_by_how_many_have_them():
    matrix = build_matrix(
        [
            [field("only_a"), field("ab"), field("all")],
            [field("all"), field("ab"), field("bc")],
            [field("bc"), field("all"), field("only_c")],
        ]
    )
    assert [row.name for row in matrix.rows] == ["all", "ab", "bc", "only_a", "only_c"]
    assert (matrix.shared, matrix.unique) == (1, 2)


def test_the_odd_one_out_is_marked_not_the_majority():
    matrix = build_matrix(
        [
            [field("steps", type="integer", default=28, has_default=True)],
            [field("steps", type="integer", default=28, has_default=True)],
            [field("steps", type="integer", default=50, has_default=True)],
        ]
    )
    assert [cell.odd for cell in matrix.rows[0].cells] == [
        frozenset(),
        frozenset(),
        frozenset({"default"}),
    ]


def test_columns_without_a_schema_do_not_make_fields_unshared():
    matrix = build_matrix([[field("a")], None, [field("a")]])
    assert matrix.rows[0].shared and not matrix.rows[0].differs
    assert matrix.rows[0].cells[1].text() == "schema unavailable"


def test_markdown_escapes_pipes_and_keeps_one_line_per_row():
    cards = [stand_in_card("a/one", "One | Two"), stand_in_card("b/two", "Three")]
    inputs = build_matrix(
        [
            [field("sep", default="a|b\nc", has_default=True)],
            [field("sep")],
        ]
    )
    text = markdown(cards, overview_rows(cards), inputs, build_matrix([[], []]))
    assert "**One \\| Two**" in text
    assert '| `sep` | `string` · optional · default `"a\\|b\\nc"` | `string` · optional |' in text
    assert all(line.count(" | ") >= 2 for line in text.splitlines() if line.startswith("| "))
