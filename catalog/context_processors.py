"""Template context every page needs: where the catalog comes from and how fresh it is."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from catalog import services


def data_source_context(request: HttpRequest) -> dict:
    # Lazy: a page that shows no freshness (the admin, sign-in) costs no query.
    return {
        "data_source": services.data_source(),
        "freshness": SimpleLazyObject(services.catalog_freshness),
    }
