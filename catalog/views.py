"""The grid and the model page. Views stay thin: catalog.services for data, catalog.browse
for the grid's state, catalog.cards for what a card shows."""

from __future__ import annotations

import threading
from collections import OrderedDict
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.vary import vary_on_headers

from catalog import services
from catalog.browse import (
    PAGE_SIZE,
    SORTS,
    active_filters,
    browse,
    parse_grid_query,
)
from catalog.cards import Card, card_for
from catalog.compare import default_text, enum_texts, limits_text
from catalog.shortlists import can_curate
from catalog.snippets import snippets_for
from fal.errors import FalAPIError
from fal.openapi import SchemaField
from fal.openapi import model_schema as model_schema_of
from fal.types import EXPAND_OPENAPI, ExpansionError, is_endpoint_id

# htmx requests aimed at this element append the next page of cards.
LOAD_MORE = "load-more"


# Rendered grid fragments, per worker process. The key names the data version (when its
# pages were fetched), so a refresh or new data never serves an old fragment.
_fragments: OrderedDict[tuple, str] = OrderedDict()
_fragments_lock = threading.Lock()
FRAGMENTS_KEPT = 64


@vary_on_headers("HX-Request")
def index(request: HttpRequest) -> HttpResponse:
    query = parse_grid_query(request.GET)
    part = "more" if request.htmx and request.htmx.target == LOAD_MORE else "results"
    try:
        result = services.catalog_search(
            q=query.q, category=query.category, status=query.upstream_status
        )
        category_result = (
            services.catalog_search(q=query.q, status=query.upstream_status)
            if query.category
            else result
        )
    except FalAPIError as error:
        context = {"query": query, "messages_for_query": query.messages, "error": error}
        html = render_to_string("catalog/index.html#results", context, request)
    else:
        # Curators' cards carry their shortlist controls, which change with every click.
        cacheable = not can_curate(request.user)
        key = (
            part,
            tuple(query.params()),
            services.data_source().base_url,
            result.fetched_at, result.stale, category_result.fetched_at, category_result.stale,
        )  # fmt: skip
        html = _fragments.get(key) if cacheable else None
        if html is None:
            context = _grid_context(query, result, category_result, appending=part == "more")
            html = render_to_string(f"catalog/index.html#{part}", context, request)
            if cacheable:
                with _fragments_lock:
                    _fragments[key] = html
                    while len(_fragments) > FRAGMENTS_KEPT:
                        _fragments.popitem(last=False)
    if not request.htmx:
        return render(request, "catalog/index.html", {"query": query, "results_html": html})
    response = HttpResponse(html)
    canonical = "/" + query.url(page=query.page).rstrip("?")
    # Typing and appended pages replace the history entry; other filter changes add one.
    replace = part == "more" or request.htmx.trigger_name == "q"
    response["HX-Replace-Url" if replace else "HX-Push-Url"] = canonical
    return response


def _grid_context(query, result, category_result, *, appending: bool) -> dict:
    grid = browse(query, result.models, category_result.models)
    last_page = max(1, -(-grid.total // PAGE_SIZE))
    page = min(query.page, last_page)
    cards = [
        card_for(m)
        for m in grid.models[(page - 1) * PAGE_SIZE if appending else 0 : page * PAGE_SIZE]
    ]
    names = {}
    if query.compare:
        picked = set(query.compare)
        names = {m.endpoint_id: card_for(m).name for m in result.models if m.endpoint_id in picked}
    shown_ids = {c.endpoint_id for c in cards}
    messages = query.messages
    if query.page > last_page:
        messages = (*messages, f"There is no page {query.page}; showing the last.")
    return {
        "query": query,
        "messages_for_query": messages,
        "error": None,
        "result": result,
        "grid": grid,
        "cards": cards,
        "page": page,
        "shown": min(page * PAGE_SIZE, grid.total),
        "next_url": query.url(page=page + 1) if page < last_page else "",
        "chips": active_filters(query),
        "clear_url": query.url(
            q="", category="", status="active", licenses=(), tags=(), group="", kind=""
        ),
        "sorts": SORTS.items(),
        "compare_picks": query.compare,
        "hidden_picks": [i for i in query.compare if i not in shown_ids],
        "tray": [
            (i, names.get(i, i), query.url(compare=tuple(c for c in query.compare if c != i)))
            for i in query.compare
        ],
        "compare_url": _compare_url(query.compare),
    }


def _compare_url(ids) -> str:
    return "/compare/?" + urlencode([("endpoint_id", i) for i in ids]) if ids else ""


def model_detail(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    return _model_page(request, endpoint_id, {"schema_url": request.path + "schema/"})


@vary_on_headers("HX-Request")
def model_schema(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    """Inputs, outputs and snippets from the OpenAPI document; loaded lazily by htmx."""
    if not is_endpoint_id(endpoint_id):
        return _not_found(request, endpoint_id, "That is not a fal endpoint id.")
    context: dict = {"endpoint_id": endpoint_id, "schema": None, "schema_error": ""}
    try:
        result = services.catalog_find([endpoint_id], expand=[EXPAND_OPENAPI])
    except FalAPIError as error:
        context["schema_error"] = f"The fal API failed: {error.message}"
    else:
        if not result.models:
            return _not_found(request, endpoint_id, "The catalog has no model with this id.")
        openapi = result.models[0].openapi
        if isinstance(openapi, ExpansionError):
            context["schema_error"] = (
                f"fal could not provide this model's schema: {openapi.message}"
            )
        elif isinstance(openapi, dict):
            schema = model_schema_of(openapi)
            context.update(
                schema_sections=[
                    ("Inputs", _field_rows(schema.inputs)),
                    ("Outputs", _field_rows(schema.outputs)),
                ],
                snippets=snippets_for(endpoint_id, schema),
            )
        else:
            context["schema_error"] = "The API sent no schema for this model."
    if request.htmx:
        return render(request, "catalog/model.html#schema", context)
    # Without JavaScript: the whole model page with the schema already in it.
    return _model_page(request, endpoint_id, {**context, "schema_inline": True})


def _field_rows(fields: tuple[SchemaField, ...]) -> list[dict]:
    return [
        {"field": f, "default": default_text(f), "enum": enum_texts(f), "limits": limits_text(f)}
        for f in fields
    ]


def _model_page(request: HttpRequest, endpoint_id: str, extra: dict) -> HttpResponse:
    if not is_endpoint_id(endpoint_id):
        return _not_found(request, endpoint_id, "That is not a fal endpoint id.")
    try:
        result = services.catalog_find([endpoint_id])
    except FalAPIError as error:
        context = {"error": error, "endpoint_id": endpoint_id}
        return render(request, "catalog/model.html", context, status=503)
    if not result.models:
        return _not_found(request, endpoint_id, "The catalog has no model with this id.")
    card = card_for(result.models[0])
    context = {
        "card": card,
        "result": result,
        "family": _family(card),
        "endpoint_id": endpoint_id,
        "compare_url": _compare_url([endpoint_id]),
        **extra,
    }
    return render(request, "catalog/model.html", context)


def _family(card: Card) -> list[Card]:
    """The other endpoints of the model's group (fal splits a family into several)."""
    if not card.group_key:
        return []
    try:
        models = services.catalog_search().models  # the grid's own cached pages
    except FalAPIError:
        return []
    return [
        card_for(m)
        for m in models
        if m.metadata and m.metadata.group and m.metadata.group.key == card.group_key
        and m.endpoint_id != card.endpoint_id
    ]  # fmt: skip


def _not_found(request: HttpRequest, endpoint_id: str, reason: str) -> HttpResponse:
    context = {
        "endpoint_id": endpoint_id,
        "reason": reason,
        "search_url": "/?" + urlencode({"q": endpoint_id.rsplit("/", 1)[-1][:80]}),
    }
    return render(request, "catalog/model_not_found.html", context, status=404)
