"""The catalog history pages: /changes/ (a timeline of what the syncs saw, filtered by the
URL) and its Atom feed (catalog.feeds), the grid's "added" filter and "new since your last
visit" chip. The data is catalog.changes'; the sync writes it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from catalog import services
from catalog.browse import GridQuery
from catalog.changes import (
    FILTER_KINDS,
    NEW_VISIT_AFTER,
    added_since,
    added_window,
    filtered_changes,
    grid_visit,
    kind_counts,
    parse_change_query,
    timeline,
)
from catalog.feeds import feed_url
from catalog.index import CatalogIndex
from catalog.models import CatalogVisit, Change, Shortlist, ShortlistEntry, SyncRun
from catalog.shortlists import EntryRow, can_curate, shortlist_entry_replace
from catalog.watch import changes_for_lists, watch_entries
from fal.types import is_endpoint_id

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
        "feed_url": feed_url(request.user, query),
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


# --- The deprecation watch on shortlists ------------------------------------------------------


def shortlist_rows_watched(rows: list[EntryRow], catalog: CatalogIndex) -> list[EntryRow]:
    """The shortlist page's rows, each with its Watch (reasons and successor suggestions)."""
    watches = watch_entries([row.entry for row in rows], catalog)
    return [replace(row, watch=watches[row.entry.pk]) for row in rows]


def shortlist_index_watch(request: HttpRequest, shortlists: list[Shortlist]) -> dict:
    """Per list, the entries that need attention; for a curator, what changed for their
    lists since they last looked at this page (the visit is recorded here)."""
    catalog = services.catalog_index()
    entries = list(ShortlistEntry.objects.filter(shortlist__in=shortlists))
    watches = watch_entries(entries, catalog, suggest=False)
    flagged: dict[int, int] = {}
    for entry in entries:
        if watches[entry.pk].flagged:
            flagged[entry.shortlist_id] = flagged.get(entry.shortlist_id, 0) + 1
    for shortlist in shortlists:
        shortlist.watch_flagged = flagged.get(shortlist.pk, 0)
    context: dict = {"watch_total": sum(flagged.values()), "changes_since": None}
    user = request.user
    if user.is_authenticated and can_curate(user):
        visit, _ = CatalogVisit.objects.get_or_create(user=user)
        previous = visit.shortlists_seen_at
        now = timezone.now()
        if previous is None or now - previous > NEW_VISIT_AFTER:
            visit.shortlists_previous = previous
        visit.shortlists_seen_at = now
        visit.save(update_fields=["shortlists_seen_at", "shortlists_previous"])
        mine = {e.endpoint_id for e in entries if e.shortlist.curator_id == user.pk}
        found = changes_for_lists(mine, visit.shortlists_previous)
        context["changes_since"] = timeline(found) if visit.shortlists_previous else None
        context["changes_since_at"] = visit.shortlists_previous
    return context


@require_POST
def shortlist_replace(request: HttpRequest, slug: str) -> HttpResponse:
    """Accept a suggested successor: the entry now names it, its note kept, the change logged."""
    if not request.user.has_perm("catalog.change_shortlistentry"):
        raise PermissionDenied("You need the catalog.change_shortlistentry permission.")
    shortlist = get_object_or_404(Shortlist, slug=slug)
    endpoint_id = request.POST.get("endpoint_id", "").strip()
    successor = request.POST.get("successor", "").strip()
    if not (is_endpoint_id(endpoint_id) and is_endpoint_id(successor)):
        raise Http404("No entry with that endpoint id.")
    entry = get_object_or_404(shortlist.entries, endpoint_id=endpoint_id)
    catalog = services.catalog_index()
    watch = watch_entries(list(shortlist.entries.all()), catalog)[entry.pk]
    if successor not in {card.endpoint_id for card in watch.suggestions}:
        messages.error(request, f"{successor} is not a suggested replacement for {endpoint_id}.")
        return redirect(f"{shortlist.get_absolute_url()}#entry-{entry.pk}")
    shortlist_entry_replace(entry=entry, user=request.user, successor=successor)
    messages.success(request, f"Replaced {endpoint_id} with {successor}; the note was kept.")
    return redirect(f"{shortlist.get_absolute_url()}#entry-{entry.pk}")
