"""The compare page: 2-6 models side by side; the URL (`endpoint_id`, repeated) is the state.

Compared models and their OpenAPI documents come from the catalog index (one query for
the documents); an id the index lacks is asked of fal once. Adding, removing and
reordering models are plain links and a GET form that rewrite the URL, so everything
works without JavaScript and every view can be shared. `grid` carries the filters of the
grid it was opened from, so "← All models" goes back to them with the compared models
as the picks.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.vary import vary_on_headers

from catalog import services
from catalog.browse import GridQuery, clean_text, parse_grid_query
from catalog.cards import Card, card_for
from catalog.compare import MAX_MODELS, build_matrix, capability_rows, markdown, overview_rows
from catalog.overlays import risk_banner
from catalog.shortlists import curator_menu
from catalog.views import HtmxHttpRequest
from fal.errors import FalAPIError
from fal.openapi import model_schema
from fal.types import MAX_ENDPOINT_ID_LENGTH, ExpansionError, Model, is_endpoint_id
from usage.figures import TeamUsage

ID_PARAM = "endpoint_id"
GRID_PARAM = "grid"
MAX_GRID_STATE = 4000  # characters of `grid` read; a real grid query is far shorter
MAX_SHOWN_INPUT = 80  # how much of a rejected value a message repeats
MAX_CANDIDATES = 8


def _quoted(value: str) -> str:
    return "“" + (value if len(value) <= MAX_SHOWN_INPUT else value[:MAX_SHOWN_INPUT] + "…") + "”"


def parse_ids(values: list[str]) -> tuple[list[str], list[str]]:
    """(ids to compare, messages): malformed ids left out, duplicates folded, at most six."""
    ids: list[str] = []
    malformed: list[str] = []
    duplicates: list[str] = []
    extra: list[str] = []
    for raw in values:
        value = raw.strip()  # Control characters and inner spaces make an id malformed.
        if not value:
            continue
        if not is_endpoint_id(value):
            malformed.append(value)
        elif value in ids:
            if value not in duplicates:
                duplicates.append(value)
        elif len(ids) >= MAX_MODELS:
            extra.append(value)
        else:
            ids.append(value)
    messages = []
    if malformed:
        messages.append(
            "Left out, not a fal endpoint id (they look like owner/model or "
            f"owner/model/variant): {', '.join(_quoted(v) for v in malformed[:5])}"
            + (f" and {len(malformed) - 5} more." if len(malformed) > 5 else ".")
        )
    if duplicates:
        messages.append(
            f"Listed more than once, compared once: {', '.join(_quoted(v) for v in duplicates)}."
        )
    if extra:
        messages.append(
            f"At most {MAX_MODELS} models can be compared; the first {MAX_MODELS} are shown "
            f"and {len(extra)} left out: {', '.join(_quoted(v) for v in extra[:5])}"
            + ("…" if len(extra) > 5 else ".")
        )
    return ids, messages


def compare_url(ids: list[str], *, only_differences: bool = False, grid: str = "") -> str:
    """The compare page for `ids`; `grid` is the grid's filters to go back to (grid_state)."""
    pairs = [(ID_PARAM, i) for i in ids]
    if only_differences:
        pairs.append(("only", "diff"))
    if grid:
        pairs.append((GRID_PARAM, grid))
    query = urlencode(pairs, safe="/")
    return reverse("catalog:compare") + (f"?{query}" if query else "")


def grid_state(query: GridQuery) -> str:
    """The grid's filters and sort as the compare URL carries them (picks and page left out:
    the picks are the compared models, and going back starts at page 1)."""
    return urlencode(query.params(compare=(), page=1))


def _grid_back(request: HttpRequest, ids: list[str]) -> tuple[str, str]:
    """(`grid` as read and made canonical, the grid URL with it and `ids` as the picks)."""
    raw = request.GET.get(GRID_PARAM, "")[:MAX_GRID_STATE]
    query = parse_grid_query(QueryDict(raw))  # invalid values dropped, as on the grid
    back = query.url(compare=tuple(ids), page=1)
    return grid_state(query), reverse("catalog:index") + (back if back != "?" else "")


@dataclass(frozen=True)
class Column:
    """One compared model, with the links that remove it or move it."""

    card: Card
    schema_note: str  # why there is no schema; "" when there is one
    remove_url: str
    left_url: str
    right_url: str


def _schema_note(openapi: dict | ExpansionError | None) -> str:
    if isinstance(openapi, ExpansionError):
        reason = openapi.message or openapi.code
        return f"fal could not expand this model's schema: {reason}"
    if not isinstance(openapi, dict):
        return "The index has no schema for this model."
    return ""


def _columns(
    models: list[Model], documents: dict, only: bool, grid: str, usage: TeamUsage
) -> list[Column]:
    ids = [m.endpoint_id for m in models]
    catalog = services.catalog_index()  # cards with their prices and the team's usage
    columns = []

    def link(ids: list[str]) -> str:
        return compare_url(ids, only_differences=only, grid=grid)

    for index, model in enumerate(models):
        swapped_left = ids[:]
        swapped_right = ids[:]
        if index > 0:
            swapped_left[index - 1 : index + 1] = [ids[index], ids[index - 1]]
        if index < len(ids) - 1:
            swapped_right[index : index + 2] = [ids[index + 1], ids[index]]
        columns.append(
            Column(
                card=catalog.card(model, usage),
                schema_note=_schema_note(documents.get(model.endpoint_id)),
                remove_url=link(ids[:index] + ids[index + 1 :]),
                left_url=link(swapped_left) if index > 0 else "",
                right_url=link(swapped_right) if index < len(ids) - 1 else "",
            )
        )
    return columns


def _add(
    request: HttpRequest, ids: list[str], only: bool, grid: str, context: dict
) -> HttpResponse | None:
    """Handle the "add a model" box: an endpoint id, or a search that picks one.

    Returns a redirect to the new URL when one model is chosen; otherwise fills `context`
    with candidates or a message and returns None.
    """
    wanted = clean_text(request.GET.get("add", ""))[:MAX_ENDPOINT_ID_LENGTH]  # Also a search.
    context["add"] = wanted
    if not wanted:
        return None
    if len(ids) >= MAX_MODELS:
        context["add_message"] = f"At most {MAX_MODELS} models: remove one before adding another."
        return None
    if is_endpoint_id(wanted):
        if wanted in ids:
            context["add_message"] = f"{_quoted(wanted)} is already compared."
            return None
        return HttpResponseRedirect(compare_url([*ids, wanted], only_differences=only, grid=grid))
    found = services.catalog_index().search(wanted)
    candidates = [m for m in found if m.endpoint_id not in ids]
    if len(candidates) == 1:
        url = compare_url([*ids, candidates[0].endpoint_id], only_differences=only, grid=grid)
        return HttpResponseRedirect(url)
    if not candidates:
        context["add_message"] = f"No model matches {_quoted(wanted)}."
        return None
    context["candidates"] = [
        (card_for(m), compare_url([*ids, m.endpoint_id], only_differences=only, grid=grid))
        for m in candidates[:MAX_CANDIDATES]
    ]
    context["more_candidates"] = max(0, len(candidates) - MAX_CANDIDATES)
    return None


@vary_on_headers("HX-Request")
def compare(request: HtmxHttpRequest) -> HttpResponse:
    only = request.GET.get("only") == "diff"
    ids, messages = parse_ids(request.GET.getlist(ID_PARAM))
    grid, grid_url = _grid_back(request, ids)
    context: dict = {
        "ids": ids,
        "only_differences": only,
        "grid": grid,
        "messages_for_query": messages,
        "columns": [],
        "grid_url": grid_url,
    }
    redirect = _add(request, ids, only, grid, context)
    if redirect is not None:
        return redirect
    if ids:
        catalog = services.catalog_index()
        models = []
        try:
            for endpoint_id in ids:
                model = services.catalog_model_find_or_add(endpoint_id, index=catalog)
                if model is not None:
                    models.append(model)
        except FalAPIError as error:
            context["error"] = error
        else:
            _fill(request, context, models, ids, only, grid)
        context["curator_menu"] = curator_menu(request)
    template = "catalog/compare.html#comparison" if request.htmx else "catalog/compare.html"
    return render(request, template, context)


def _fill(
    request: HttpRequest,
    context: dict,
    models: list[Model],
    ids: list[str],
    only: bool,
    grid: str,
) -> None:
    found = [m.endpoint_id for m in models]
    # The shared link is the comparison alone: a teammate has no grid to go back to.
    url = request.build_absolute_uri(compare_url(found, only_differences=only))
    # The comparison depends on the index (models and their documents), the ids, the
    # switch, the grid state and the shared URL alone: built and rendered once per index.
    usage = services.team_usage()
    comparison = services.catalog_index().derived(
        ("compare", *found, only, grid, url, usage.run_id),
        lambda: _comparison(models, only, grid, url, usage),
    )
    context.update(comparison)
    context.update(risk_banner(services.catalog_index(), usage))
    context["usage_demo_shown"] = any(column.card.usage_demo for column in comparison["columns"])
    context["missing"] = [i for i in ids if i not in found]
    context["without_missing_url"] = (
        compare_url(found, only_differences=only, grid=grid) if context["missing"] else ""
    )


def _comparison(models: list[Model], only: bool, grid: str, url: str, usage: TeamUsage) -> dict:
    found = [m.endpoint_id for m in models]
    documents = services.catalog_documents(found)
    columns = _columns(models, documents, only, grid, usage)
    cards = [c.card for c in columns]
    schemas = [
        model_schema(documents[i]) if isinstance(documents.get(i), dict) else None for i in found
    ]
    inputs = build_matrix([s.inputs if s else None for s in schemas])
    outputs = build_matrix([s.outputs if s else None for s in schemas])
    overview = overview_rows(cards)
    known = services.catalog_index().capabilities
    capabilities = capability_rows([known.get(i) for i in found])
    span = len(columns) + 1
    input_rows = inputs.differing_rows if only else inputs.rows
    output_rows = outputs.differing_rows if only else outputs.rows

    def fields_html(title: str, matrix, rows, notes: list[str]) -> str:
        context = {
            "title": title, "matrix": matrix, "rows": rows, "group": title.lower(),
            "notes": notes, "span": span, "only_differences": only,
        }  # fmt: skip
        return render_to_string("catalog/compare.html#fields", context)

    shown_overview = [row for row in overview if row.differs] if only else overview
    shown_capabilities = [r for r in capabilities if r.differs] if only else capabilities

    return {
        "columns": columns,
        "overview": overview,
        "inputs": inputs,
        "outputs": outputs,
        "input_rows": input_rows,
        "output_rows": output_rows,
        "overview_rows": shown_overview,
        "capability_rows": shown_capabilities,
        # The rows are the same for everyone: rendered once with the comparison.
        "overview_html": render_to_string(
            "catalog/compare.html#overview", {"overview_rows": shown_overview, "span": span}
        ),
        "capabilities_html": render_to_string(
            "catalog/compare.html#capabilities",
            {"capability_rows": shown_capabilities, "span": span},
        ),
        "share_url": url,
        "markdown": markdown(
            cards, (*overview, *capabilities), inputs, outputs, only_differences=only, url=url
        ),
        "inputs_html": fields_html(
            "Inputs", inputs, input_rows, _notes(columns, schemas, "inputs")
        ),
        "outputs_html": fields_html(
            "Outputs", outputs, output_rows, _notes(columns, schemas, "outputs")
        ),
        "span": span,
    }


def _notes(columns: list[Column], schemas: list, part: str) -> list[str]:
    """Per column: why it has no fields here (no schema, or a schema without any); [] if
    every column has fields."""
    notes = [
        column.schema_note or ("" if getattr(schema, part) else f"Its schema documents no {part}.")
        for column, schema in zip(columns, schemas, strict=True)
    ]
    return notes if any(notes) else []
