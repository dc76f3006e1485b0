"""The /changes/ page: what the syncs saw, as a timeline filtered by the URL (feed: feeds.py)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.vary import vary_on_headers

from catalog.changes import (
    FILTER_KINDS,
    change_lines,
    filtered_changes,
    folded_lines,
    kind_counts,
    parse_change_query,
    timeline,
)
from catalog.feeds import feed_url
from catalog.models import Change, SyncRun
from catalog.views import HtmxHttpRequest

PAGE_SIZE = 200


@vary_on_headers("HX-Request")
def changes(request: HtmxHttpRequest) -> HttpResponse:
    query = parse_change_query(request.GET)
    found = filtered_changes(query)
    # A page holds lines: each sync's thumbnail changes are one (changes.FOLDED_FIELDS).
    paginator = Paginator(change_lines(found), PAGE_SIZE)
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
        "days": timeline(folded_lines(list(page.object_list), found)),
        "counts": counts,
        "total": sum(counts.values()),
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
