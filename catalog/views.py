"""The grid, the model page and the sync pages. Views stay thin: catalog.services for data,
catalog.browse for the grid's state, catalog.cards for what a card shows."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from catalog import services
from catalog.browse import PAGE_SIZE, active_filters, parse_grid_query, sort_options
from catalog.cards import card_for
from catalog.changes import endpoint_history
from catalog.compare import default_text, enum_texts, limits_text
from catalog.compare_views import compare_url
from catalog.index import CatalogIndex
from catalog.models import SyncRun
from catalog.shortlists import curator_menu
from catalog.snippets import snippets_for
from catalog.views_history import grid_added
from fal.errors import FalAPIError
from fal.openapi import SchemaField
from fal.openapi import model_schema as model_schema_of
from fal.types import ExpansionError, is_endpoint_id

# htmx requests aimed at this element append the next page of cards.
LOAD_MORE = "load-more"


@vary_on_headers("HX-Request")
def index(request: HttpRequest) -> HttpResponse:
    catalog = services.catalog_index()
    if catalog.empty:
        return _syncing(request)
    query = parse_grid_query(request.GET)
    appending = bool(request.htmx) and request.htmx.target == LOAD_MORE
    context = _grid_context(request, catalog, query, appending=appending)
    if not request.htmx:
        return render(request, "catalog/index.html", context)
    response = render(request, f"catalog/index.html#{'more' if appending else 'results'}", context)
    canonical = "/" + query.url(page=query.page).rstrip("?")
    # Typing and appended pages replace the history entry; other filter changes add one.
    replace = appending or request.htmx.trigger_name == "q"
    response["HX-Replace-Url" if replace else "HX-Push-Url"] = canonical
    return response


def _grid_context(request, catalog: CatalogIndex, query, *, appending: bool) -> dict:
    added = grid_added(request, query, catalog)
    grid = catalog.grid(query, added.ids, added.since)
    last_page = max(1, -(-grid.total // PAGE_SIZE))
    page = min(query.page, last_page)
    start = (page - 1) * PAGE_SIZE if appending else 0
    cards = [card_for(m) for m in grid.models[start : page * PAGE_SIZE]]
    shown_ids = {c.endpoint_id for c in cards}
    messages = query.messages
    if query.page > last_page:
        messages = (*messages, f"There is no page {query.page}; showing the last.")
    suggestion = catalog.search_index.suggest(query.q) if query.q and not grid.total else None
    menu = curator_menu(request)
    # Members' cards are the same for everyone: rendered once per index; curators' carry
    # their own shortlist controls and are rendered for each page.
    cards_html = (
        [catalog.card_html(c, picked=c.endpoint_id in query.compare) for c in cards]
        if menu is None
        else None
    )
    names = {}
    for endpoint_id in query.compare:
        model = catalog.get(endpoint_id)
        names[endpoint_id] = card_for(model).name if model else endpoint_id
    return {
        "query": query,
        "messages_for_query": messages,
        "grid": grid,
        "cards": cards,
        "cards_html": cards_html,
        "page": page,
        "shown": min(page * PAGE_SIZE, grid.total),
        "next_url": query.url(page=page + 1) if page < last_page else "",
        "chips": active_filters(query),
        "clear_url": query.url(
            q="", category="", status="active", licenses=(), tags=(), group="", kind="", added=""
        ),
        "sorts": sort_options(query),
        "suggestion": suggestion,
        "suggestion_url": query.url(q=suggestion) if suggestion else "",
        "compare_picks": query.compare,
        "hidden_picks": [i for i in query.compare if i not in shown_ids],
        "tray": [
            (i, names[i], query.url(compare=tuple(c for c in query.compare if c != i)))
            for i in query.compare
        ],
        "compare_url": compare_url(list(query.compare)) if query.compare else "",
        "curator_menu": menu,
        "new_since_visit": added.new_count,
        "new_since_visit_url": added.new_url,
    }


def _syncing(request: HttpRequest) -> HttpResponse:
    """An empty index: say the catalog is being fetched, with progress, until it is there."""
    services.catalog_sync_request(trigger="first visit")
    context = {"run": services.catalog_sync_running(), "freshness": services.catalog_freshness()}
    if request.htmx:
        if not services.catalog_index().empty:
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"  # the grid is ready: load the page the user asked for
            return response
        return render(request, "catalog/syncing.html#progress", context)
    return render(request, "catalog/syncing.html", context, status=503)


def model_detail(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    return _model_page(request, endpoint_id, {"schema_url": request.path + "schema/"})


@vary_on_headers("HX-Request")
def model_schema(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    """Inputs, outputs and snippets from the stored OpenAPI document; loaded lazily by htmx."""
    if not is_endpoint_id(endpoint_id):
        return _not_found(request, endpoint_id, "That is not a fal endpoint id.")
    catalog = services.catalog_index()
    if catalog.get(endpoint_id) is None:
        return _model_page(request, endpoint_id, {"schema_url": request.path})
    context: dict = {"endpoint_id": endpoint_id, "schema": None, "schema_error": ""}
    openapi = services.catalog_documents([endpoint_id]).get(endpoint_id)
    if isinstance(openapi, ExpansionError):
        context["schema_error"] = f"fal could not provide this model's schema: {openapi.message}"
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
        context["schema_error"] = "The index has no schema for this model yet."
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
    catalog = services.catalog_index()
    if catalog.empty:
        return _syncing(request)
    try:
        model = services.catalog_model(endpoint_id, index=catalog)
    except FalAPIError as error:
        context = {"error": error, "endpoint_id": endpoint_id}
        return render(request, "catalog/model.html", context, status=503)
    if model is None:
        return _not_found(request, endpoint_id, "The catalog has no model with this id.")
    catalog = services.catalog_index()  # it may have just been added
    card = card_for(model)
    context = {
        "card": card,
        "gone_at": catalog.presence[endpoint_id].gone_at
        if endpoint_id in catalog.presence
        else None,
        "family": [card_for(m) for m in catalog.family(model)],
        "endpoint_id": endpoint_id,
        "compare_url": compare_url([endpoint_id]),
        "curator_menu": curator_menu(request),
        "history": endpoint_history(endpoint_id),
        "first_seen": catalog.presence[endpoint_id].first_seen
        if endpoint_id in catalog.presence
        else None,
        **extra,
    }
    return render(request, "catalog/model.html", context)


def _not_found(request: HttpRequest, endpoint_id: str, reason: str) -> HttpResponse:
    context = {
        "endpoint_id": endpoint_id,
        "reason": reason,
        "search_url": "/?" + urlencode({"q": endpoint_id.rsplit("/", 1)[-1][:80]}),
    }
    return render(request, "catalog/model_not_found.html", context, status=404)


# --- The sync, for staff ----------------------------------------------------------------------


@vary_on_headers("HX-Request")
def sync_status(request: HttpRequest) -> HttpResponse:
    """Recent syncs and the running one's progress (polled by htmx while it runs)."""
    if not request.user.is_staff:
        raise PermissionDenied("Only staff can see the sync.")
    context = {
        "run": services.catalog_sync_running(),
        "runs": SyncRun.objects.all()[:20],
    }
    template = "catalog/sync.html#runs" if request.htmx else "catalog/sync.html"
    return render(request, template, context)


@require_POST
def sync_request(request: HttpRequest) -> HttpResponse:
    """The staff "Refresh catalog" button: enqueue a sync, then show its progress."""
    if not request.user.is_staff:
        raise PermissionDenied("Only staff can refresh the catalog.")
    if services.catalog_sync_request(trigger=f"staff: {request.user.get_username()}"):
        messages.success(request, "Sync enqueued: the catalog is being fetched from fal.")
    else:
        messages.info(request, "A sync is already running or waiting.")
    return redirect(reverse("catalog:sync"))
