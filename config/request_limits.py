"""Requests the admin cannot survive, answered 400 with a message before any view runs.

Found by the hostile-input tests (tests/catalog/test_hostile_querystrings.py,
tests/catalog/test_hostile_forms.py) against Django 6.1's admin, which is staff only:

- Django caps the number of parameters (DATA_UPLOAD_MAX_NUMBER_FIELDS, 1,000), not how
  many values one parameter repeats, nor how many words a search splits into; the admin
  ORs every value of a repeated filter and ANDs every search word into one SQL
  expression, and SQLite refuses one 1,000 deep (a 500).
- An empty `_to_field` skips the admin's check of that parameter, then fails looking up
  a field named "" (a 500 on every change and delete page).
- On PostgreSQL, a NUL character in a filter value or an autocomplete term reaches the
  database, which refuses it (a 500). Our own views never put query-string text in SQL.
- An action posted with a selected "id" that is not a number fails converting it (a
  500). Every model here has an integer primary key.

No page here needs more than a few dozen values of one parameter, so every view gets the
first limit; the others apply to the admin.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

MAX_VALUES_PER_PARAMETER = 100
MAX_ADMIN_SEARCH_TERMS = 100


class RequestLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        problem = request_problem(request)
        if problem:
            return render(request, "400.html", {"message": problem}, status=400)
        return None


def request_problem(request: HttpRequest) -> str:
    """Why this request is refused, or ""."""
    for name, values in request.GET.lists():
        if len(values) > MAX_VALUES_PER_PARAMETER:
            return (
                f"“{name[:40]}” was given {len(values)} times; "
                f"at most {MAX_VALUES_PER_PARAMETER} values are read."
            )
    match = request.resolver_match
    if match is None or match.app_name != "admin":
        return ""
    terms = len(request.GET.get("q", "").split())
    if terms > MAX_ADMIN_SEARCH_TERMS:
        return f"The search has {terms} words; at most {MAX_ADMIN_SEARCH_TERMS} are read."
    if "_to_field" in request.GET and not request.GET["_to_field"].strip():
        return "“_to_field” must name a field."
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return f"“{name[:40].replace(chr(0), '')}” contains a null character."
    selected = request.POST.getlist(ACTION_CHECKBOX_NAME) if request.method == "POST" else []
    if not all(pk.isdigit() for pk in selected):
        return "Select items with the checkboxes: the selection must be item numbers."
    return ""
