"""The shortlist pages (index, list, card menu, exports) and curators' changes to lists.

Every change is a POST that checks the permission here (templates only hide buttons).
With htmx the views answer with a fragment of catalog/shortlist.html; without it, a
redirect back to a safe local `next`. The writes themselves are catalog.shortlists'.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from catalog import services
from catalog import shortlists as writes
from catalog.changes import timeline
from catalog.compare import MAX_MODELS
from catalog.forms import ShortlistForm, note_problem, plain_text
from catalog.models import Shortlist, ShortlistEntry
from catalog.shortlists import (
    EntryRow,
    can_curate,
    curator_menu,
    endpoint_problem,
    entry_rows,
)
from catalog.views import HtmxHttpRequest, spreadsheet_safe
from catalog.views.compare import compare_url
from catalog.watch import (
    changes_for_lists,
    count_flagged,
    mark_shortlists_seen,
    shortlist_rows_watched,
    suggested_successors,
)
from fal.types import is_endpoint_id

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class SignedInRequest(HtmxHttpRequest):
    """These views' request: the sign-in-required middleware lets only signed-in users in."""

    user: User


EXPORT_FIELDS = [
    "endpoint_id", "name", "category", "license", "note", "status",
    "price", "currency", "unit", "unit_class",
]  # fmt: skip


def _require(request: HttpRequest, perm: str, hint: str = " (curators have it)") -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(f"You need the {perm} permission{hint}.")


def _curated_list(request: HttpRequest, slug: str, perm: str, **require: str) -> Shortlist:
    """The list a curator's change is for: the permission first (a 403 names it), then the
    list (a 404)."""
    _require(request, perm, **require)
    return get_object_or_404(Shortlist, slug=slug)


def _posted_entry(request: HttpRequest, shortlist: Shortlist) -> ShortlistEntry:
    """The entry the post names by `endpoint_id`, or a 404."""
    endpoint_id = request.POST.get("endpoint_id", "").strip()
    if not is_endpoint_id(endpoint_id):  # never stored; PostgreSQL refuses NUL in a query
        raise Http404("No entry with that endpoint id.")
    return get_object_or_404(shortlist.entries.select_related("added_by"), endpoint_id=endpoint_id)


def _safe_next(request: HttpRequest, default: str, target: str | None = None) -> str:
    """`target` (by default the posted `next`) if it is a path on this site, else `default`."""
    target = request.POST.get("next", "") if target is None else target
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@require_http_methods(["GET", "HEAD", "POST"])
def shortlist_index(request: SignedInRequest) -> HttpResponse:
    form = ShortlistForm()
    if request.method == "POST":
        _require(request, "catalog.add_shortlist")
        form = ShortlistForm(request.POST)
        if form.is_valid():
            return redirect(writes.shortlist_create(user=request.user, **form.cleaned_data))
    lists = list(Shortlist.objects.select_related("curator").annotate(entry_count=Count("entries")))
    status = 400 if form.errors else 200
    context = {"shortlists": lists, "form": form, **_watch_context(request, lists)}
    return render(request, "catalog/shortlists.html", context, status=status)


def _watch_context(request: SignedInRequest, lists: Sequence[Shortlist]) -> dict:
    """Per list, the entries that need attention; for a curator, what changed for their
    lists since their previous visit to this page (which this request records)."""
    entries = list(ShortlistEntry.objects.filter(shortlist__in=lists))
    total = count_flagged(lists, entries, services.catalog_index())
    context: dict = {"watch_total": total, "changes_since": None}
    user = request.user
    if user.is_authenticated and can_curate(user):
        since = mark_shortlists_seen(user)
        theirs = {shortlist.pk for shortlist in lists if shortlist.curator_id == user.pk}
        mine = {e.endpoint_id for e in entries if e.shortlist_id in theirs}
        found = changes_for_lists(mine, since)
        context["changes_since"] = timeline(found) if since else None
        context["changes_since_at"] = since
    return context


def shortlist_compare_url(rows: list[EntryRow]) -> str:
    """The compare page for the first six entries fal still knows ("" when none)."""
    ids = [row.entry.endpoint_id for row in rows if row.found][:MAX_MODELS]
    return compare_url(ids) if ids else ""


def _shown_entries(
    request: SignedInRequest, shortlist: Shortlist, entries: Sequence[ShortlistEntry]
) -> dict:
    """What a list page shows of its entries: the whole page, or one entry htmx swaps in
    after a change, which must look the same (its watch, its shortlist control)."""
    catalog = services.catalog_index()
    usage = services.team_usage()
    rows = shortlist_rows_watched(entry_rows(entries, catalog, usage).rows, catalog)
    return {
        "shortlist": shortlist,
        "rows": rows,
        # Every card here is in this list; a curator's control loads the lists on opening.
        "shortlisted": True if can_curate(request.user) else None,
    }


def shortlist_detail(request: SignedInRequest, slug: str) -> HttpResponse:
    shortlist = get_object_or_404(Shortlist.objects.select_related("curator"), slug=slug)
    context = _shown_entries(request, shortlist, list(shortlist.entries.select_related("added_by")))
    rows = context["rows"]
    context["flagged"] = sum(1 for row in rows if row.flag or row.watch.flagged)
    context["compare_url"] = shortlist_compare_url(rows)
    return render(request, "catalog/shortlist.html", context)


@require_http_methods(["GET", "HEAD"])
def shortlist_menu(request: SignedInRequest) -> HttpResponse:
    """A card's shortlist control with every list, fetched when a curator opens it (htmx);
    without JavaScript, the same control as a page."""
    menu = curator_menu(request)
    if menu is None:
        raise PermissionDenied("Only curators can change shortlists.")
    endpoint_id = request.GET.get("endpoint_id", "")
    if not is_endpoint_id(endpoint_id):
        message = "Give a model's endpoint id, like fal-ai/flux/dev."
        return render(request, "400.html", {"message": message}, status=400)
    context = menu.controls(endpoint_id, open=True)
    if request.htmx:
        return render(request, "catalog/shortlist.html#controls", context)
    # A choice made on this page goes back to the page the curator came from.
    came_from = urlsplit(request.headers.get("Referer", ""))
    path = came_from.path + (f"?{came_from.query}" if came_from.query else "")
    same_site = came_from.netloc == request.get_host()
    model_url = reverse("catalog:model", args=[endpoint_id])
    context["action_next"] = _safe_next(request, model_url, path if same_site else "")
    return render(request, "catalog/shortlist_menu.html", context)


def shortlist_export(request: SignedInRequest, slug: str, fmt: str) -> HttpResponse:
    """The entries with their current name, category and license, for code or spreadsheets."""
    if fmt not in ("json", "csv"):
        raise Http404("Export as .json or .csv.")
    shortlist = get_object_or_404(Shortlist, slug=slug)
    found = entry_rows(list(shortlist.entries.all()), services.catalog_index())
    records = [
        {
            "endpoint_id": row.entry.endpoint_id,
            "name": row.card.name if row.found else "",
            "category": row.card.category,
            "license": row.card.license if row.found else "",
            "note": row.entry.note,
            "status": row.status,
            **_price_fields(row),
        }
        for row in found.rows
    ]
    disposition = f'attachment; filename="{shortlist.slug}.{fmt}"'
    if fmt == "json":
        payload = {
            "shortlist": {
                "title": shortlist.title,
                "slug": shortlist.slug,
                "description": shortlist.description,
                "url": request.build_absolute_uri(shortlist.get_absolute_url()),
                "updated_at": shortlist.updated_at.isoformat(),
            },
            "entries": records,
        }
        response: HttpResponse = JsonResponse(
            payload, json_dumps_params={"indent": 2, "ensure_ascii": False}
        )
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({k: spreadsheet_safe(v) for k, v in r.items()} for r in records)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = disposition
    # Team data behind a sign-in: no shared cache may keep it, the browser revalidates.
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _price_fields(row: EntryRow) -> dict[str, str]:
    """fal's figure as written (a string: exact in JSON and CSV alike) and its raw unit."""
    price = row.card.price if row.found else None
    if price is None:
        return {"price": "", "currency": "", "unit": "", "unit_class": ""}
    return {
        "price": f"{price.unit_price:f}",
        "currency": price.currency,
        "unit": price.unit,
        "unit_class": price.unit_class,
    }


# --- Curators' changes -------------------------------------------------------------------------
# Each view checks the permission (templates only hide buttons), reads the post, calls one
# write of catalog.shortlists and answers: a fragment for htmx, else a redirect.


@require_POST
@vary_on_headers("HX-Request")
def shortlist_entry_add(request: SignedInRequest, slug: str) -> HttpResponse:
    shortlist = _curated_list(request, slug, "catalog.add_shortlistentry")
    endpoint_id = request.POST.get("endpoint_id", "").strip()
    note = plain_text(request.POST.get("note", ""))
    problem = endpoint_problem(endpoint_id) or note_problem(note)
    if not problem:
        writes.shortlist_entry_add(
            shortlist=shortlist, user=request.user, endpoint_id=endpoint_id, note=note
        )
    return _after_change(request, shortlist, endpoint_id, problem)


@require_POST
@vary_on_headers("HX-Request")
def shortlist_entry_remove(request: SignedInRequest, slug: str) -> HttpResponse:
    shortlist = _curated_list(request, slug, "catalog.delete_shortlistentry")
    endpoint_id = request.POST.get("endpoint_id", "").strip()
    removed = writes.shortlist_entry_remove(
        shortlist=shortlist, user=request.user, endpoint_id=endpoint_id
    )
    # The shortlist page removes the entry itself; cards elsewhere get their control back.
    if removed is not None and request.htmx and request.htmx.target == f"entry-{removed}":
        context = {"endpoint_id": endpoint_id, "shortlist": shortlist}
        return render(request, "catalog/shortlist.html#entry-removed", context)
    return _after_change(request, shortlist, endpoint_id, "")


@require_POST
@vary_on_headers("HX-Request")
def shortlist_entry_note(request: SignedInRequest, slug: str) -> HttpResponse:
    shortlist = _curated_list(request, slug, "catalog.change_shortlistentry")
    entry = _posted_entry(request, shortlist)
    note = plain_text(request.POST.get("note", ""))
    problem = note_problem(note)
    if not problem:
        writes.shortlist_entry_note(entry=entry, user=request.user, note=note)
    if request.htmx:
        context = _shown_entries(request, shortlist, [entry])
        context.update(row=context["rows"][0], note_error=problem)
        return render(request, "catalog/shortlist.html#entry", context)
    if problem:
        return _problem_page(request, problem, shortlist.get_absolute_url())
    return redirect(f"{shortlist.get_absolute_url()}#entry-{entry.pk}")


def _after_change(
    request: SignedInRequest, shortlist: Shortlist, endpoint_id: str, problem: str
) -> HttpResponse:
    if request.htmx:
        # 200 with the message inside the control: htmx would not swap an error status.
        menu = curator_menu(request)
        context = menu.controls(endpoint_id, open=True, error=problem) if menu else {}
        return render(request, "catalog/shortlist.html#controls", context)
    if problem:
        return _problem_page(request, problem, _safe_next(request, shortlist.get_absolute_url()))
    return redirect(_safe_next(request, shortlist.get_absolute_url()))


def _problem_page(request: HttpRequest, problem: str, back_url: str) -> HttpResponse:
    lists = Shortlist.objects.select_related("curator").annotate(entry_count=Count("entries"))
    context = {
        "shortlists": lists,
        "form": ShortlistForm(),
        "problem": problem,
        "back_url": back_url,
    }
    return render(request, "catalog/shortlists.html", context, status=400)


# --- Curators' changes to the list itself ------------------------------------------------------
# Rename and re-describe (change_shortlist), reorder entries (change_shortlist: the order is
# the list's), delete (delete_shortlist). A rename keeps the slug: links already shared in
# chats, mails and exports keep working, and the title is what people read.

EDIT_PERMS = ("catalog.change_shortlist", "catalog.delete_shortlist")
MOVES = {"up": -1, "down": 1}


@require_http_methods(["GET", "HEAD", "POST"])
def shortlist_edit(request: SignedInRequest, slug: str) -> HttpResponse:
    """The list's title and description (the create form's rules), and its delete button."""
    if not any(request.user.has_perm(perm) for perm in EDIT_PERMS):
        raise PermissionDenied(
            "You need the catalog.change_shortlist permission (curators have it)."
        )
    shortlist = get_object_or_404(Shortlist, slug=slug)
    form = ShortlistForm(instance=shortlist)
    if request.method == "POST":
        _require(request, "catalog.change_shortlist")
        # A copy takes the posted values: the page keeps showing the saved title meanwhile.
        form = ShortlistForm(request.POST, instance=Shortlist.objects.get(pk=shortlist.pk))
        if form.is_valid():
            if writes.shortlist_edit(shortlist=shortlist, user=request.user, **form.cleaned_data):
                messages.success(request, f"Saved “{shortlist.title}”.")
            return redirect(shortlist.get_absolute_url())
    return _edit_page(request, shortlist, form)


def _edit_page(
    request: HttpRequest, shortlist: Shortlist, form: ShortlistForm, delete_error: str = ""
) -> HttpResponse:
    context = {
        "shortlist": shortlist,
        "form": form,
        "entry_count": shortlist.entries.count(),
        "delete_error": delete_error,
    }
    status = 400 if form.errors or delete_error else 200
    return render(request, "catalog/shortlist_edit.html", context, status=status)


@require_POST
def shortlist_delete(request: SignedInRequest, slug: str) -> HttpResponse:
    shortlist = _curated_list(request, slug, "catalog.delete_shortlist")
    if request.POST.get("confirm") != "yes":
        problem = "Nothing was deleted: tick the box to confirm."
        return _edit_page(request, shortlist, ShortlistForm(instance=shortlist), problem)
    title = shortlist.title
    count = writes.shortlist_delete(shortlist=shortlist, user=request.user)
    messages.success(
        request,
        f"Deleted the shortlist “{title}” and its {count} entr{'y' if count == 1 else 'ies'}.",
    )
    return redirect("catalog:shortlists")


@require_POST
def shortlist_entry_move(request: SignedInRequest, slug: str) -> HttpResponse:
    """One entry a place up or down."""
    shortlist = _curated_list(request, slug, "catalog.change_shortlist")
    step = MOVES.get(request.POST.get("direction", ""))
    back = shortlist.get_absolute_url()
    if step is None:
        return _problem_page(request, "Move an entry “up” or “down”.", back)
    endpoint_id = request.POST.get("endpoint_id", "").strip()
    moved = writes.shortlist_entry_move(
        shortlist=shortlist, user=request.user, endpoint_id=endpoint_id, step=step
    )
    if moved is None:
        return _problem_page(request, "That model is not on this list.", back)
    return redirect(f"{back}#entry-{moved.pk}")


@require_POST
def shortlist_replace(request: SignedInRequest, slug: str) -> HttpResponse:
    """Accept a suggested successor: the entry now names it, its note kept, the change logged."""
    shortlist = _curated_list(request, slug, "catalog.change_shortlistentry", hint="")
    entry = _posted_entry(request, shortlist)
    endpoint_id, successor = entry.endpoint_id, request.POST.get("successor", "").strip()
    if not is_endpoint_id(successor):
        raise Http404("No entry with that endpoint id.")
    back = f"{shortlist.get_absolute_url()}#entry-{entry.pk}"
    if successor not in suggested_successors(entry, services.catalog_index()):
        messages.error(request, f"{successor} is not a suggested replacement for {endpoint_id}.")
        return redirect(back)
    writes.shortlist_entry_replace(entry=entry, user=request.user, successor=successor)
    messages.success(request, f"Replaced {endpoint_id} with {successor}; the note was kept.")
    return redirect(back)
