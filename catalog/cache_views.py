"""The staff-only "refresh catalog" action: drop every cached page of fal's catalog."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalog import services


@require_POST
def refresh_catalog(request: HttpRequest) -> HttpResponse:
    """POST (CSRF-checked by the middleware); staff only; back to `next` if it is local."""
    if not request.user.is_staff:
        raise PermissionDenied("Only staff can refresh the catalog.")
    services.catalog_refresh()
    messages.success(request, "Catalog cache dropped: pages now fetch fresh data from fal.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("catalog:index")
    return redirect(next_url)
