"""Catalog pages: views stay thin and talk to fal only through catalog.services."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from catalog import services
from catalog.fal_api import FalAPIError


def index(request: HttpRequest) -> HttpResponse:
    context: dict = {"models": [], "error": None}
    try:
        result = services.catalog_search()
        # Entries without a status (metadata is optional) count as active.
        models = [m for m in result.models if not m.metadata or m.metadata.status != "deprecated"]
        context.update(models=models[:48], total=len(models), result=result)
    except FalAPIError as error:
        context["error"] = error
    return render(request, "catalog/index.html", context)
