"""Template context every page needs: where the catalog data comes from."""

from __future__ import annotations

from django.http import HttpRequest

from catalog.services import data_source


def data_source_context(request: HttpRequest) -> dict:
    return {"data_source": data_source()}
