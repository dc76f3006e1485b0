"""The sync's pages: its progress while the index is empty, and staff's status and refresh."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRefresh

from catalog import services
from catalog.models import SyncRun
from catalog.views import HtmxHttpRequest


def syncing(request: HtmxHttpRequest) -> HttpResponse:
    """An empty index: say the catalog is being fetched, with progress, until it is there."""
    services.catalog_sync_request(trigger="first visit")
    context = {"run": services.catalog_sync_running(), "freshness": services.catalog_freshness()}
    if request.htmx:
        if not services.catalog_index().empty:
            # The grid is ready: load the page the user asked for.
            return HttpResponseClientRefresh()
        return render(request, "catalog/syncing.html#progress", context)
    return render(request, "catalog/syncing.html", context, status=503)


@vary_on_headers("HX-Request")
def sync_status(request: HtmxHttpRequest) -> HttpResponse:
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
