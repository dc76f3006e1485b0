"""The catalog's views, one module per page or group of pages."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """The request of a view that reads `request.htmx` (set by django-htmx's middleware on
    every request): django-htmx's recommended type, since Django's HttpRequest lacks it."""

    htmx: HtmxDetails


def spreadsheet_safe(value: str) -> str:
    """A CSV cell as text: spreadsheets run cells starting with = + - @ (or a tab or a
    carriage return before them) as formulas; a leading ' keeps them text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
