"""Shortlists' rules: entry rows, endpoint checks, the curator's menu, and every write.

Entry rows take their cards from the catalog index. Each write (`shortlist_…`) is one
change a curator makes on the site, with its one entry in the admin history.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from catalog import services
from catalog.cards import Card, card_for
from catalog.index import CatalogIndex
from catalog.models import Shortlist, ShortlistEntry
from core.locks import atomic_add
from fal.errors import FalAPIError
from fal.types import Model, is_endpoint_id
from usage.figures import NO_USAGE, TeamUsage

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_NOTE_LENGTH = 2000
FLAG_MISSING = "No longer in fal's catalog: the API does not know this endpoint id."
FLAG_GONE = "No longer in fal's catalog: it was missing from the last full sync."
FLAG_DEPRECATED = "Deprecated: fal marks this endpoint as deprecated; look for a replacement."
CURATE_PERMS = ("catalog.add_shortlistentry", "catalog.delete_shortlistentry")
# A repeat of the same create within this many seconds opens the list the first one made.
REPEAT_CREATE_SECONDS = 10


@dataclass(frozen=True)
class EntryRow:
    """One entry as shown: its card (from the index, or a bare one) and a flag."""

    entry: ShortlistEntry
    card: Card
    found: bool
    flag: str
    watch: Any = None  # the deprecation watch's catalog.watch.Watch, on the shortlist page

    @property
    def status(self) -> str:
        """For exports: active, deprecated or missing."""
        if not self.found:
            return "missing"
        return "deprecated" if self.card.deprecated else "active"


@dataclass(frozen=True)
class EntryRows:
    rows: list[EntryRow]

    @property
    def flagged(self) -> int:
        return sum(1 for row in self.rows if row.flag)


def entry_rows(
    entries: Sequence[ShortlistEntry], catalog: CatalogIndex, usage: TeamUsage = NO_USAGE
) -> EntryRows:
    """Cards for entries from the index (with the team's usage badge, given `usage`); gone,
    unknown and deprecated ones are flagged."""
    rows = []
    for entry in entries:
        model = catalog.get(entry.endpoint_id)
        if model is None:
            card = card_for(Model(endpoint_id=entry.endpoint_id))
            rows.append(EntryRow(entry, card, False, FLAG_MISSING))
        elif catalog.is_gone(entry.endpoint_id):
            rows.append(EntryRow(entry, catalog.card(model, usage), False, FLAG_GONE))
        else:
            card = catalog.card(model, usage)
            rows.append(EntryRow(entry, card, True, FLAG_DEPRECATED if card.deprecated else ""))
    return EntryRows(rows=rows)


def endpoint_problem(endpoint_id: str) -> str:
    """Why this id cannot be added ("" when fal's catalog knows it)."""
    if not is_endpoint_id(endpoint_id):
        return "That is not a fal endpoint id."
    try:
        model = services.catalog_model_find_or_add(endpoint_id)
    except FalAPIError as error:
        return f"fal's API failed ({error.message}), so the model could not be checked. Try again."
    if model is None or services.catalog_index().is_gone(endpoint_id):
        return f"fal's catalog has no model “{endpoint_id}”."
    return ""


# --- The card control: which lists exist and which hold this endpoint -----------------------


def can_curate(user) -> bool:
    return any(user.has_perm(perm) for perm in CURATE_PERMS)


@dataclass(frozen=True)
class CuratorMenu:
    """Every shortlist and the endpoints it holds: read by the view, two queries a page."""

    lists: tuple[tuple[str, str, frozenset[str]], ...]  # (slug, title, endpoint ids)
    can_add: bool
    can_remove: bool

    def controls(self, endpoint_id: str, *, open: bool = False, error: str = "") -> dict:  # noqa: A002
        """Context of the `controls` partial in catalog/shortlist.html for one endpoint."""
        lists = []
        for slug, title, endpoint_ids in self.lists:
            member = endpoint_id in endpoint_ids
            name = "catalog:shortlist_remove" if member else "catalog:shortlist_add"
            lists.append(
                {
                    "title": title,
                    "member": member,
                    "action": reverse(name, args=[slug]),
                    "allowed": self.can_remove if member else self.can_add,
                }
            )
        return {
            "endpoint_id": endpoint_id,
            "lists": lists,
            "in_any": any(item["member"] for item in lists),
            "open": open,
            "error": error,
        }


def shortlisted_ids(request: HttpRequest) -> frozenset[str] | None:
    """For a curator's cards: the endpoints in any list (one query), which is all a card's
    closed shortlist control shows; its lists load when it is opened (views.shortlist_menu),
    so a curator's grid weighs what a member's does. None for members: no control."""
    if not can_curate(request.user):
        return None
    return frozenset(ShortlistEntry.objects.order_by().values_list("endpoint_id", flat=True))


def curator_menu(request: HttpRequest) -> CuratorMenu | None:
    """The menu for a curator's cards; None for members, whose cards have none."""
    user = request.user
    if not can_curate(user):
        return None
    ids: dict[int, set[str]] = defaultdict(set)
    for shortlist_id, endpoint_id in ShortlistEntry.objects.values_list(
        "shortlist_id", "endpoint_id"
    ):
        ids[shortlist_id].add(endpoint_id)
    lists = tuple(
        (s.slug, s.title, frozenset(ids[s.pk]))
        for s in Shortlist.objects.only("pk", "slug", "title")
    )
    return CuratorMenu(
        lists=lists,
        can_add=user.has_perm("catalog.add_shortlistentry"),
        can_remove=user.has_perm("catalog.delete_shortlistentry"),
    )


# --- Writes: each is one change and its one entry in the admin history -----------------------


def _log(
    user: User,
    shortlist: Shortlist,
    action: str,
    *,
    entry: str = "",
    fields: Sequence[str] = (),
) -> None:
    """The admin history's entry for a change, in the admin's own message format: `action`
    ("added", "changed" or "deleted") of the entry named `entry`, or of the list itself.

    A change also bumps the list's `updated_at`, as a save in the admin does.
    """
    message: str | list[dict[str, Any]] = ""
    if action == "deleted" and not entry:  # the list itself: a deletion, as in the admin
        flag = DELETION
    else:
        detail: dict[str, Any] = {"name": "shortlist entry", "object": entry} if entry else {}
        if fields:
            detail["fields"] = list(fields)
        flag, message = CHANGE, [{action: detail}]
        Shortlist.objects.filter(pk=shortlist.pk).update(updated_at=timezone.now())
    LogEntry.objects.log_actions(
        user_id=user.pk,
        queryset=[shortlist],
        action_flag=flag,
        change_message=message,
        single_object=True,
    )


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


def shortlist_create(*, user: User, title: str, description: str = "") -> Shortlist:
    """A new list curated by `user`, unless they created one with this title seconds ago:
    then that one (a double-clicked "Create" makes one list).

    The two posts of a double click arrive at once: the first takes a marker in the cache
    (an atomic add on every backend, core.locks), the second waits for the list it names.
    Not a unique constraint: two lists may share a title on purpose (their slugs differ).
    Not logged: a list made on the site has no admin history until its first change.
    """
    key = f"shortlist-create:v1:{user.pk}:" + hashlib.sha256(title.encode()).hexdigest()
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
    shortlist = Shortlist(title=title, description=description, curator=user)
    shortlist.slug = _unique_slug(title)
    shortlist.save()
    cache.set(key, shortlist.slug, timeout=REPEAT_CREATE_SECONDS)
    return shortlist


def shortlist_edit(*, shortlist: Shortlist, user: User, title: str, description: str) -> list[str]:
    """A new title and description (the slug stays: shared links keep working); the names
    of the fields that changed, none when nothing did (then nothing is written)."""
    new = {"title": title, "description": description}
    changed = [name for name, value in new.items() if getattr(shortlist, name) != value]
    if not changed:
        return []
    labels = [name.capitalize() for name in changed]  # as the admin's form labels them
    with transaction.atomic():
        # Logged first, so the history names the list as it was called when it was changed.
        _log(user, shortlist, "changed", fields=labels)
        for name in changed:
            setattr(shortlist, name, new[name])
        shortlist.save(update_fields=[*changed, "updated_at"])
    return labels


def shortlist_delete(*, shortlist: Shortlist, user: User) -> int:
    """Deletes the list and its entries; how many entries it had."""
    with transaction.atomic():
        count = shortlist.entries.count()
        _log(user, shortlist, "deleted")
        shortlist.delete()
    return count


def shortlist_entry_add(
    *, shortlist: Shortlist, user: User, endpoint_id: str, note: str = ""
) -> ShortlistEntry:
    """The endpoint at the end of the list; one already on the list is left as it was."""
    entry, created = ShortlistEntry.objects.get_or_create(
        shortlist=shortlist,
        endpoint_id=endpoint_id,
        defaults={"note": note, "position": shortlist.next_position(), "added_by": user},
    )
    if created:
        _log(user, shortlist, "added", entry=endpoint_id)
    return entry


def shortlist_entry_remove(*, shortlist: Shortlist, user: User, endpoint_id: str) -> int | None:
    """Takes the endpoint off the list; the id its entry had (the page's `entry-<id>` row),
    None when the list did not hold it."""
    # A malformed id was never stored (and PostgreSQL refuses NUL even in a query).
    if not is_endpoint_id(endpoint_id):
        return None
    entry = shortlist.entries.filter(endpoint_id=endpoint_id).first()
    if entry is None:
        return None
    entry_pk = entry.pk
    entry.delete()
    _log(user, shortlist, "deleted", entry=endpoint_id)
    return entry_pk


def shortlist_entry_note(*, entry: ShortlistEntry, user: User, note: str) -> bool:
    """The curator's note on an entry; whether it changed (an unchanged note is not logged)."""
    if note == entry.note:
        return False
    entry.note = note
    entry.save(update_fields=["note"])
    _log(user, entry.shortlist, "changed", entry=entry.endpoint_id, fields=["Note"])
    return True


def shortlist_entry_move(
    *, shortlist: Shortlist, user: User, endpoint_id: str, step: int
) -> ShortlistEntry | None:
    """One entry a place up (`step` -1) or down (+1), positions renumbered 1…n (the admin
    may leave ties); at an end it stays. The moved entry, None when the list lacks it."""
    with transaction.atomic():
        entries = list(shortlist.entries.select_for_update().order_by("position", "pk"))
        ids = [entry.endpoint_id for entry in entries]
        if not is_endpoint_id(endpoint_id) or endpoint_id not in ids:
            return None
        here = ids.index(endpoint_id)
        moved, there = entries[here], here + step
        if 0 <= there < len(entries):
            entries[here], entries[there] = entries[there], entries[here]
        for position, entry in enumerate(entries, start=1):
            entry.position = position
        ShortlistEntry.objects.bulk_update(entries, ["position"])
        _log(user, shortlist, "changed", entry=endpoint_id, fields=["Position"])
    return moved


def shortlist_entry_replace(*, entry: ShortlistEntry, user: User, successor: str) -> ShortlistEntry:
    """The entry names `successor` from now on, its note and position kept."""
    replaced = entry.endpoint_id
    with transaction.atomic():
        # The successor joins the list now: its watch counts changes from here on.
        entry.endpoint_id, entry.added_at, entry.added_by = successor, timezone.now(), user
        entry.save(update_fields=["endpoint_id", "added_at", "added_by"])
        _log(
            user,
            entry.shortlist,
            "changed",
            entry=f"{replaced} → {successor}",
            fields=["Endpoint id"],
        )
    return entry
