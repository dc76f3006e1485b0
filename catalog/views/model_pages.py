"""The model page and its schema (inputs, outputs, snippets), loaded lazily by htmx."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.vary import vary_on_headers

from catalog import schema_display, services
from catalog.changes import endpoint_history
from catalog.overlays import model_usage, risk_banner
from catalog.shortlists import curator_menu
from catalog.views import HtmxHttpRequest
from catalog.views.compare import compare_url
from catalog.views.sync import syncing
from fal.errors import FalAPIError
from fal.types import ExpansionError, is_endpoint_id


def model_detail(request: HtmxHttpRequest, endpoint_id: str) -> HttpResponse:
    schema_url = reverse("catalog:model_schema", args=[endpoint_id])
    return render_model_page(request, endpoint_id, {"schema_url": schema_url})


@vary_on_headers("HX-Request")
def model_schema(request: HtmxHttpRequest, endpoint_id: str) -> HttpResponse:
    """Inputs, outputs and snippets from the stored OpenAPI document; loaded lazily by htmx."""
    if not is_endpoint_id(endpoint_id):
        return _not_found(request, endpoint_id, "That is not a fal endpoint id.")
    catalog = services.catalog_index()
    if catalog.get(endpoint_id) is None:
        return render_model_page(request, endpoint_id, {"schema_url": request.path})
    context: dict = {"endpoint_id": endpoint_id, "schema": None, "schema_error": ""}
    openapi = services.catalog_documents([endpoint_id]).get(endpoint_id)
    if isinstance(openapi, ExpansionError):
        context["schema_error"] = f"fal could not provide this model's schema: {openapi.message}"
        context["snippets"] = schema_display.unknown_schema_snippets(endpoint_id)
    elif isinstance(openapi, dict):
        found = catalog.capabilities.get(endpoint_id)
        context.update(schema_display.schema_context(endpoint_id, openapi, found))
    else:
        context["schema_error"] = "The index has no schema for this model yet."
        context["snippets"] = schema_display.unknown_schema_snippets(endpoint_id)
    if request.htmx:
        return render(request, "catalog/model.html#schema", context)
    # Without JavaScript: the whole model page with the schema already in it.
    return render_model_page(request, endpoint_id, {**context, "schema_inline": True})


def render_model_page(request: HtmxHttpRequest, endpoint_id: str, extra: dict) -> HttpResponse:
    if not is_endpoint_id(endpoint_id):
        return _not_found(request, endpoint_id, "That is not a fal endpoint id.")
    catalog = services.catalog_index()
    if catalog.empty:
        return syncing(request)
    try:
        model = services.catalog_model_find_or_add(endpoint_id, index=catalog)
    except FalAPIError as error:
        context = {"error": error, "endpoint_id": endpoint_id}
        return render(request, "catalog/model.html", context, status=503)
    if model is None:
        return _not_found(request, endpoint_id, "The catalog has no model with this id.")
    if catalog.get(endpoint_id) is None:
        catalog = services.catalog_index()  # catalog_model_find_or_add has just added it
    usage = services.team_usage()
    card = catalog.card(model, usage)
    context = {
        "card": card,
        "our_usage": model_usage(usage, endpoint_id),
        "usage_synced": usage.synced,
        **risk_banner(catalog, usage),
        "estimate_url": reverse("catalog:model_estimate", args=[endpoint_id]),
        "gone_at": catalog.presence[endpoint_id].gone_at
        if endpoint_id in catalog.presence
        else None,
        "family": [catalog.card(m) for m in catalog.family(model)],
        "endpoint_id": endpoint_id,
        "compare_url": compare_url([endpoint_id]),
        "curator_menu": curator_menu(request),
        # Changes are recorded only by syncs that also change the index version.
        "history": catalog.derived(("history", endpoint_id), lambda: endpoint_history(endpoint_id)),
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
