"""The grid: the catalog index's cards, filtered, sorted and paged by the URL's query.

Views stay thin: catalog.services for data, catalog.browse for the grid's state,
catalog.cards for what a card shows.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlencode, urlsplit

from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url, replace_url

from catalog import services
from catalog.browse import (
    PAGE_SIZE,
    USAGE_SORTS,
    GridQuery,
    active_filters,
    parse_grid_query,
    sort_options,
)
from catalog.cards import card_for
from catalog.changes import grid_added
from catalog.compare import LIMIT_REASON, MAX_MODELS
from catalog.index import CatalogIndex
from catalog.overlays import risk_banner
from catalog.search import FEW, offers, tokens
from catalog.shortlists import shortlisted_ids
from catalog.views import HtmxHttpRequest
from catalog.views.compare import compare_url, grid_state
from catalog.views.sync import syncing

# htmx requests aimed at this element append the next page of cards.
LOAD_MORE = "load-more"
TITLE_FILTERS = 4  # filters a page title names; more are counted


def grid_title(chips: list[tuple[str, str]]) -> str:
    """The grid's page title, from the active filters as their chips name them:
    "“flux” · text-to-image · Models". The full page and every htmx swap use it."""
    labels = [label for label, _ in chips]
    if len(labels) > TITLE_FILTERS:
        labels = [*labels[: TITLE_FILTERS - 1], f"+{len(labels) - TITLE_FILTERS + 1} filters"]
    return " · ".join([*labels, "Models"])


class SearchNote(NamedTuple):
    """A line about how the search read the query: words, a link, words after it."""

    text: str
    link: str
    url: str
    after: str = ""


def search_notes(
    catalog: CatalogIndex, query: GridQuery, grid, suggestion: str | None
) -> list[SearchNote]:
    """What the search read in the query, each with the one click that acts on it: the task
    it ranked first, removed models it found, a correction, and the price or capability
    words it did not apply."""
    if not query.q:
        return []
    notes = []
    counts = {o.value.casefold(): o.count for o in grid.facets.get("category", ())}
    category = catalog.search_index.intent(query.q)
    if category and not query.category and counts.get(category):
        url = query.url(category=category)
        notes.append(SearchNote(f"Showing {category} first —", "filter to it", url))
    # Removed models, when the present ones give few answers ("sora"): not for every task.
    # When only removed ones match every word ("sora 2"), the grid shows present models
    # matching some words: the note counts the removed ones that match them all, and says so.
    gone = {o.value: o.count for o in grid.facets.get("status", ())}.get("gone", 0)
    present, removed = catalog.search_index.found(query.q), catalog.gone_search_index.found(query.q)
    only_removed = removed.complete and not present.complete
    if only_removed:
        gone = removed.answers
    if gone and present.answers < FEW and query.status not in ("all", "gone"):
        count = f"{gone} removed model{'s' if gone > 1 else ''}"
        text = (
            f"No model in fal's catalog matches every word; {count} "
            f"{'do' if gone > 1 else 'does'} —"
            if only_removed
            else f"{count} match{'es' if gone == 1 else ''} —"
        )
        notes.append(SearchNote(text, "show them", query.url(status="all")))
    if suggestion and grid.total:
        notes.append(SearchNote("Did you mean", suggestion, query.url(q=suggestion), "?"))
    for offer in offers(query.q):
        if offer.name == "sort":
            url = query.url(sort=offer.value) if query.sort != offer.value else ""
        elif offer.name == "max_price":
            # Bare, per a typical job (catalog.facets.MaxPrice); the rail then offers units.
            base = query.url(max_price=None)
            url = f"{base}{'&' if base != '?' else ''}{urlencode({offer.name: offer.value})}"
            url = url if query.max_price is None else ""
        else:
            chosen = query.value(offer.name)
            url = (
                query.url(**{offer.name: (*chosen, offer.value)})
                if offer.value not in chosen
                else ""
            )
        if url:
            notes.append(SearchNote("", offer.label, url))
    return notes


@vary_on_headers("HX-Request")
def index(request: HtmxHttpRequest) -> HttpResponse:
    catalog = services.catalog_index()
    if catalog.empty:
        return syncing(request)
    before = _grid_before(request)
    query = parse_grid_query(_picks_in_order(request.GET, before))
    appending = bool(request.htmx) and request.htmx.target == LOAD_MORE
    context = _grid_context(request, catalog, query, appending=appending)
    if not request.htmx:
        context.update(risk_banner(catalog, context["usage"], context["in_lists"]))
        return render(request, "catalog/index.html", context)
    response = render(request, f"catalog/index.html#{'more' if appending else 'results'}", context)
    canonical = "/" + query.url(page=query.page).rstrip("?")
    # Typing, appended pages and compare picks replace the history entry (Back leaves the
    # grid's view, not one pick at a time); other filter changes add one.
    if appending or request.htmx.trigger_name == "q" or _only_picks_changed(before, query):
        return replace_url(response, canonical)
    return push_url(response, canonical)


def _grid_before(request: HtmxHttpRequest) -> QueryDict | None:
    """The query of the grid this request came from: the URL htmx says the page shows, or,
    without JavaScript, the page the form was sent from. None from anywhere else."""
    url = request.htmx.current_url if request.htmx else request.headers.get("Referer")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc != request.get_host() or parts.path != request.path:
        return None
    return QueryDict(parts.query)


def _picks_in_order(data: QueryDict, before: QueryDict | None) -> QueryDict:
    """The sent picks, those made before first and in their order: a form sends its boxes
    in page order, and past the limit the new pick is the one left out, not an old one."""
    sent = data.getlist("compare")
    if before is None or not sent:
        return data
    earlier = [i for i in before.getlist("compare") if i in sent]
    ordered = data.copy()
    ordered.setlist("compare", list(dict.fromkeys([*earlier, *sent])))
    return ordered


def _only_picks_changed(before: QueryDict | None, query: GridQuery) -> bool:
    if before is None:
        return False
    previous = parse_grid_query(before)
    return previous.compare != query.compare and previous.url(compare=()) == query.url(compare=())


def _grid_context(request, catalog: CatalogIndex, query, *, appending: bool) -> dict:
    added = grid_added(request, query, catalog)
    usage = services.team_usage()
    grid = catalog.grid(query, added.ids, added.since, usage)
    # Pages grow the grid ("more"): a whole page shows every card up to its end.
    paginator = Paginator(grid.models, PAGE_SIZE)
    page = paginator.get_page(query.page)  # past the last: the last
    shown = page.end_index()
    models = page.object_list if appending else grid.models[:shown]
    cards = [catalog.card(m, usage) for m in models]
    shown_ids = {c.endpoint_id for c in cards}
    messages = query.messages
    if query.page > paginator.num_pages:
        messages = (*messages, f"There is no page {query.page}; showing the last.")
    if query.sort in USAGE_SORTS and not usage.synced:
        messages = (*messages, f"Sorting by our {query.sort} needs usage: no usage synced yet.")
    if query.q and not tokens(query.q):
        messages = (*messages, f"“{query.q}” has no letters or digits to search for.")
    if query.category and not grid.total and not catalog.has_category(query.category):
        messages = (*messages, f"No model in fal's catalog has the category “{query.category}”.")
    # A correction only where the query as typed matches no model with every word.
    suggestion = (
        catalog.suggest(query.q) if query.q and not catalog.search_index.complete(query.q) else None
    )
    in_lists = shortlisted_ids(request)
    picks_full = len(query.compare) >= MAX_MODELS
    # Each card is rendered (and escaped) once per index; joined here, the page inserts one
    # string rather than looping over 48 in the template.
    cards_html = mark_safe(  # noqa: S308 (the parts are rendered templates)
        "".join(
            catalog.card_html(
                c,
                picked=c.endpoint_id in query.compare,
                picks_full=picks_full,
                shortlisted=None if in_lists is None else c.endpoint_id in in_lists,
            )
            for c in cards
        )
    )
    chips = active_filters(query)
    names = {}
    for endpoint_id in query.compare:
        model = catalog.get(endpoint_id)
        names[endpoint_id] = card_for(model).name if model else endpoint_id
    return {
        "query": query,
        "messages_for_query": messages,
        "grid": grid,
        "cards": cards,
        "cards_html": cards_html,
        "rail_html": catalog.rail_html(query, added.ids, added.since, usage),
        "page": page.number,
        "shown": shown,
        "next_url": query.url(page=page.next_page_number()) if page.has_next() else "",
        "chips": chips,
        "page_title": grid_title(chips),
        "clear_url": query.clear_url(),
        "sorts": sort_options(query),
        "suggestion": suggestion,
        "search_notes": search_notes(catalog, query, grid, suggestion),
        "suggestion_url": query.url(q=suggestion) if suggestion else "",
        "compare_picks": query.compare,
        "compare_max": MAX_MODELS,
        "compare_full_reason": LIMIT_REASON if picks_full else "",
        "hidden_picks": [i for i in query.compare if i not in shown_ids],
        "tray": [
            (i, names[i], query.url(compare=tuple(c for c in query.compare if c != i)))
            for i in query.compare
        ],
        "compare_url": (
            compare_url(list(query.compare), grid=grid_state(query)) if query.compare else ""
        ),
        "usage": usage,
        "in_lists": in_lists,
        "new_since_visit": added.new_count,
        "new_since_visit_url": added.new_url,
    }
