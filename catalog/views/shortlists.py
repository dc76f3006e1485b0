"""Shortlist pages: the index, a list with cards from the catalog index, exports, and
curators' entry changes.

Every change is a POST that checks the permission here (templates only hide buttons).
With htmx the views answer with a fragment of catalog/shortlist.html; without it, a
redirect back to a safe local `next`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.contrib.admin.models import DELETION, LogEntry
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from catalog import services
from catalog.compare import MAX_MODELS
from catalog.models import Shortlist, ShortlistEntry
from catalog.shortlists import (
    MAX_NOTE_LENGTH,
    EntryRow,
    can_curate,
    curator_menu,
    endpoint_problem,
    entry_rows,
    record_change,
)
from catalog.views.compare import compare_url
from catalog.views.history import shortlist_index_watch, shortlist_rows_watched
from core.locks import atomic_add
from fal.types import is_endpoint_id

EXPORT_FIELDS = [
    "endpoint_id", "name", "category", "license", "note", "status",
    "price", "currency", "unit", "unit_class",
]  # fmt: skip
MAX_DESCRIPTION_LENGTH = 2000
# A repeat of the same create within this many seconds opens the list the first one made.
REPEAT_CREATE_SECONDS = 10


def too_long(what: str, limit: int, length: int) -> str:
    """The one way a length limit is said, for notes and descriptions alike."""
    return f"Keep the {what} to at most {limit:,} characters (it has {length:,})."


def description_field() -> forms.CharField:
    """The shortlist description as this page and the admin take it: at most 2,000 characters."""
    field = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": MAX_DESCRIPTION_LENGTH}),
        help_text=f"What the list is for (at most {MAX_DESCRIPTION_LENGTH:,} characters).",
    )
    field.validators.append(_description_length)
    return field


def _description_length(value: str) -> None:
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise forms.ValidationError(
            too_long("description", MAX_DESCRIPTION_LENGTH, len(value)), code="max_length"
        )


class ShortlistForm(forms.ModelForm):
    description = description_field()

    class Meta:
        model = Shortlist
        fields = ["title", "description"]

    def clean_title(self) -> str:
        title = self.cleaned_data["title"].strip()
        # Any script's letters or digits ("商品写真" is a fine title; "!!!" is not).
        if not any(ch.isalnum() for ch in title):
            raise forms.ValidationError("Use at least one letter or digit in the title.")
        return title


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(f"You need the {perm} permission (curators have it).")


def _unique_slug(title: str) -> str:
    """An ASCII slug from the title, or `list-<n>` for a title with no ASCII letter or digit.

    ASCII, not Unicode slugs: the shared link survives every chat, mail client and CSV
    file name unescaped, and the routes, the admin and the exports stay as they are. The
    title keeps its own script wherever it is shown.
    """
    base = slugify(title)[:70]
    if not base:
        n = 1
        while Shortlist.objects.filter(slug=f"list-{n}").exists():
            n += 1
        return f"list-{n}"
    slug, n = base, 1
    while Shortlist.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _safe_next(request: HttpRequest, default: str, target: str | None = None) -> str:
    """`target` (by default the posted `next`) if it is a path on this site, else `default`."""
    target = request.POST.get("next", "") if target is None else target
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@require_http_methods(["GET", "HEAD", "POST"])
def shortlist_index(request: HttpRequest) -> HttpResponse:
    form = ShortlistForm()
    if request.method == "POST":
        _require(request, "catalog.add_shortlist")
        form = ShortlistForm(request.POST)
        if form.is_valid():
            return redirect(_create_once(request, form))
    shortlists = list(
        Shortlist.objects.select_related("curator").annotate(entry_count=Count("entries"))
    )
    status = 400 if form.errors else 200
    context = {"shortlists": shortlists, "form": form, **shortlist_index_watch(request, shortlists)}
    return render(request, "catalog/shortlists.html", context, status=status)


def shortlist_compare_url(rows: list[EntryRow]) -> str:
    """The compare page for the first six entries fal still knows ("" when none)."""
    ids = [row.entry.endpoint_id for row in rows if row.found][:MAX_MODELS]
    return compare_url(ids) if ids else ""


def _create_once(request: HttpRequest, form: ShortlistForm) -> Shortlist:
    """Creates the list, unless this curator created one with this title seconds ago.

    A double-clicked "Create" sends two posts at once: the first takes a marker in the cache
    (an atomic add on every backend, core/locks.py), the second waits for the list
    it names.
    Not a unique constraint: two lists may share a title on purpose (their slugs differ).
    """
    title = form.cleaned_data["title"]
    key = f"shortlist-create:v1:{request.user.pk}:" + hashlib.sha256(title.encode()).hexdigest()
    if not atomic_add(key, "", timeout=REPEAT_CREATE_SECONDS):
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            slug = cache.get(key)
            if slug is None:  # the marker expired
                break
            if slug:  # the first post is done; its list may have been deleted since
                existing = Shortlist.objects.filter(slug=slug).first()
                if existing is not None:
                    return existing
                break
            time.sleep(0.05)
    shortlist = form.save(commit=False)
    shortlist.slug = _unique_slug(shortlist.title)
    shortlist.curator = request.user
    shortlist.save()
    cache.set(key, shortlist.slug, timeout=REPEAT_CREATE_SECONDS)
    return shortlist


def shortlist_detail(request: HttpRequest, slug: str) -> HttpResponse:
    shortlist = get_object_or_404(Shortlist.objects.select_related("curator"), slug=slug)
    catalog = services.catalog_index()
    found = entry_rows(list(shortlist.entries.select_related("added_by")), catalog)
    rows = shortlist_rows_watched(found.rows, catalog)
    context = {
        "shortlist": shortlist,
        "rows": rows,
        "flagged": sum(1 for row in rows if row.flag or row.watch.flagged),
        "compare_url": shortlist_compare_url(found.rows),
        # Every card here is in this list; a curator's control loads the lists on opening.
        "shortlisted": True if can_curate(request.user) else None,
    }
    return render(request, "catalog/shortlist.html", context)


@require_http_methods(["GET", "HEAD"])
def shortlist_menu(request: HttpRequest) -> HttpResponse:
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


def shortlist_export(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
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
        response = JsonResponse(payload, json_dumps_params={"indent": 2, "ensure_ascii": False})
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({k: _spreadsheet_safe(v) for k, v in r.items()} for r in records)
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


def _spreadsheet_safe(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; a leading ' keeps them text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# --- Curators' changes -------------------------------------------------------------------------


@require_POST
@vary_on_headers("HX-Request")
def shortlist_entry_add(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, "catalog.add_shortlistentry")
    shortlist = get_object_or_404(Shortlist, slug=slug)
    endpoint_id = request.POST.get("endpoint_id", "").strip()
    note = request.POST.get("note", "").strip()
    problem = endpoint_problem(endpoint_id) or _note_problem(note)
    if not problem:
        _, created = ShortlistEntry.objects.get_or_create(
            shortlist=shortlist,
            endpoint_id=endpoint_id,
            defaults={
                "note": note,
                "position": shortlist.next_position(),
                "added_by": request.user,
            },
        )
        if created:
            record_change(
                request, shortlist, {"added": {"name": "shortlist entry", "object": endpoint_id}}
            )
    return _after_change(request, shortlist, endpoint_id, problem)


@require_POST
@vary_on_headers("HX-Request")
def shortlist_entry_remove(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, "catalog.delete_shortlistentry")
    shortlist = get_object_or_404(Shortlist, slug=slug)
    endpoint_id = request.POST.get("endpoint_id", "").strip()
    # A malformed id was never stored (and PostgreSQL refuses NUL even in a query).
    entry = (
        shortlist.entries.filter(endpoint_id=endpoint_id).first()
        if is_endpoint_id(endpoint_id)
        else None
    )
    if entry is not None:
        entry_pk = entry.pk
        entry.delete()
        record_change(
            request, shortlist, {"deleted": {"name": "shortlist entry", "object": endpoint_id}}
        )
        # The shortlist page removes the entry itself; cards elsewhere get their control back.
        if request.htmx and request.htmx.target == f"entry-{entry_pk}":
            return render(
                request,
                "catalog/shortlist.html#entry-removed",
                {"endpoint_id": endpoint_id, "shortlist": shortlist},
            )
    return _after_change(request, shortlist, endpoint_id, "")


@require_POST
@vary_on_headers("HX-Request")
def shortlist_entry_note(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, "catalog.change_shortlistentry")
    shortlist = get_object_or_404(Shortlist, slug=slug)
    endpoint_id = request.POST.get("endpoint_id", "").strip()
    if not is_endpoint_id(endpoint_id):  # never stored; PostgreSQL refuses NUL in a query
        raise Http404("No entry with that endpoint id.")
    entry = get_object_or_404(shortlist.entries.select_related("added_by"), endpoint_id=endpoint_id)
    note = request.POST.get("note", "").strip()
    problem = _note_problem(note)
    if not problem and note != entry.note:
        entry.note = note
        entry.save(update_fields=["note"])
        record_change(
            request,
            shortlist,
            {
                "changed": {
                    "name": "shortlist entry",
                    "object": entry.endpoint_id,
                    "fields": ["Note"],
                }
            },
        )
    if request.htmx:
        row = entry_rows([entry], services.catalog_index()).rows[0]
        context = {"row": row, "shortlist": shortlist, "note_error": problem}
        return render(request, "catalog/shortlist.html#entry", context)
    if problem:
        return _problem_page(request, problem, shortlist.get_absolute_url())
    return redirect(f"{shortlist.get_absolute_url()}#entry-{entry.pk}")


def _note_problem(note: str) -> str:
    """What is wrong with a note, the same when it is added and when it is edited."""
    if len(note) > MAX_NOTE_LENGTH:
        return too_long("note", MAX_NOTE_LENGTH, len(note))
    # PostgreSQL refuses NUL in text (a 500); Django's form fields reject it the same way.
    return "Notes cannot contain null characters." if "\x00" in note else ""


def _after_change(
    request: HttpRequest, shortlist: Shortlist, endpoint_id: str, problem: str
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
    shortlists = Shortlist.objects.select_related("curator").annotate(entry_count=Count("entries"))
    context = {
        "shortlists": shortlists,
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
def shortlist_edit(request: HttpRequest, slug: str) -> HttpResponse:
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
            if form.has_changed():
                form.save()
                fields = [
                    form.fields[name].label or name.capitalize() for name in form.changed_data
                ]
                record_change(request, shortlist, {"changed": {"fields": fields}})
                messages.success(request, f"Saved “{form.instance.title}”.")
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
def shortlist_delete(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, "catalog.delete_shortlist")
    shortlist = get_object_or_404(Shortlist, slug=slug)
    if request.POST.get("confirm") != "yes":
        problem = "Nothing was deleted: tick the box to confirm."
        return _edit_page(request, shortlist, ShortlistForm(instance=shortlist), problem)
    title, count = shortlist.title, shortlist.entries.count()
    LogEntry.objects.log_actions(
        user_id=request.user.pk,
        queryset=[shortlist],
        action_flag=DELETION,
        change_message="",
        single_object=True,
    )
    shortlist.delete()
    messages.success(
        request,
        f"Deleted the shortlist “{title}” and its {count} entr{'y' if count == 1 else 'ies'}.",
    )
    return redirect("catalog:shortlists")


@require_POST
def shortlist_entry_move(request: HttpRequest, slug: str) -> HttpResponse:
    """One entry a place up or down; positions are renumbered 1…n (the admin may leave ties)."""
    _require(request, "catalog.change_shortlist")
    shortlist = get_object_or_404(Shortlist, slug=slug)
    endpoint_id = request.POST.get("endpoint_id", "").strip()
    step = MOVES.get(request.POST.get("direction", ""))
    back = shortlist.get_absolute_url()
    if step is None:
        return _problem_page(request, "Move an entry “up” or “down”.", back)
    with transaction.atomic():
        entries = list(shortlist.entries.select_for_update().order_by("position", "pk"))
        ids = [entry.endpoint_id for entry in entries]
        if not is_endpoint_id(endpoint_id) or endpoint_id not in ids:
            return _problem_page(request, "That model is not on this list.", back)
        here = ids.index(endpoint_id)
        there = here + step
        if 0 <= there < len(entries):
            entries[here], entries[there] = entries[there], entries[here]
        for position, entry in enumerate(entries, start=1):
            entry.position = position
        ShortlistEntry.objects.bulk_update(entries, ["position"])
    change = {"name": "shortlist entry", "object": endpoint_id, "fields": ["Position"]}
    record_change(request, shortlist, {"changed": change})
    return redirect(f"{back}#entry-{entries[min(max(there, 0), len(entries) - 1)].pk}")
