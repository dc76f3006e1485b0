"""The catalog history pages: /changes/ (a timeline of what the syncs saw, filtered by the
URL) and its Atom feed (catalog.feeds), the grid's "added" filter and "new since your last
visit" chip. The data is catalog.changes'; the sync writes it."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from catalog.browse import GridQuery
from catalog.changes import (
    FILTER_KINDS,
    added_since,
    added_window,
    filtered_changes,
    grid_visit,
    kind_counts,
    parse_change_query,
    timeline,
)
from catalog.index import CatalogIndex
from catalog.models import CatalogVisit, Change, SyncRun

PAGE_SIZE = 200


@vary_on_headers("HX-Request")
def changes(request: HttpRequest) -> HttpResponse:
    query = parse_change_query(request.GET)
    found = filtered_changes(query)
    paginator = Paginator(found, PAGE_SIZE)
    page = paginator.get_page(query.page)
    categories = (
        Change.objects.order_by("category").exclude(category="").values_list("category", flat=True)
    )
    licenses = Change.objects.order_by("license").exclude(license="")
    counts = kind_counts(found)
    context = {
        "query": query,
        "kind_links": [
            (kind, n, query.url(kind="added" if kind == "back" else kind, page=1))
            for kind, n in sorted(counts.items())
        ],
        "newer_url": query.url(page=page.number - 1),
        "older_url": query.url(page=page.number + 1),
        "page": page,
        "days": timeline(list(page.object_list)),
        "counts": counts,
        "total": paginator.count,
        "kinds": FILTER_KINDS,
        "categories": list(categories.distinct()),
        "licenses": list(licenses.values_list("license", flat=True).distinct()),
        "feed_url": "feed/" + query.url(page=1).rstrip("?"),
        "syncs": SyncRun.objects.filter(state=SyncRun.State.SUCCEEDED).count(),
        "undated": SyncRun.objects.filter(
            state=SyncRun.State.SUCCEEDED, documents_dated=False, changes_recorded__gt=0
        ).order_by("-catalog_date")[:5],
    }
    template = "catalog/changes.html#results" if request.htmx else "catalog/changes.html"
    return render(request, template, context)


# --- The grid's "added" filter and "new since your last visit" chip ---------------------------


@dataclass(frozen=True)
class GridAdded:
    """What the grid needs from the history for one member's request."""

    ids: frozenset[str] | None  # the endpoints of the `added` filter's window
    since: str  # the window's start, the grid memo's key
    new_count: int  # present models added since the member's previous visit
    new_url: str  # the grid with `added=new`


def grid_added(request: HttpRequest, query: GridQuery, catalog: CatalogIndex) -> GridAdded:
    """Record the visit (full pages only) and read the `added` window's endpoints."""
    now = timezone.now()
    user = request.user
    if not user.is_authenticated:
        last_visit = None
    elif request.htmx:
        visit = CatalogVisit.objects.filter(user=user).first()
        last_visit = visit.grid_previous if visit else None
    else:
        last_visit = grid_visit(user, now)
    new_ids = added_since(last_visit) if last_visit else frozenset()
    new_count = sum(1 for i in new_ids if catalog.get(i) and not catalog.is_gone(i))
    start = added_window(query.added, now, last_visit)
    return GridAdded(
        ids=added_since(start) if start else (frozenset() if query.added else None),
        since=start.isoformat() if start else "",
        new_count=new_count,
        new_url=query.url(added="new"),
    )
