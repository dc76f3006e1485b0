"""The shortlist writes (catalog.shortlists): each one's effect and its one admin-history entry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.core.cache import cache
from django.utils import timezone

from catalog.models import Shortlist, ShortlistEntry
from catalog.shortlists import (
    shortlist_create,
    shortlist_delete,
    shortlist_edit,
    shortlist_entry_add,
    shortlist_entry_move,
    shortlist_entry_note,
    shortlist_entry_remove,
    shortlist_entry_replace,
)

pytestmark = pytest.mark.django_db

FLUX = "fal-ai/flux/schnell"
DEV = "fal-ai/flux/dev"
BANANA = "fal-ai/nano-banana-2"
LONG_AGO = timezone.now() - timedelta(days=30)


@pytest.fixture
def drafts(curator):
    """A list last changed long ago, holding FLUX (noted) and BANANA."""
    shortlist = Shortlist.objects.create(title="Drafts", slug="drafts", curator=curator)
    shortlist.entries.create(endpoint_id=FLUX, note="Fast", position=1)
    shortlist.entries.create(endpoint_id=BANANA, position=2)
    Shortlist.objects.filter(pk=shortlist.pk).update(updated_at=LONG_AGO)
    shortlist.refresh_from_db()
    return shortlist


def the_log(shortlist) -> LogEntry:
    """The one admin-history entry of the list (fails if there are none or several)."""
    return LogEntry.objects.get(object_id=str(shortlist.pk))


def order(shortlist) -> list[str]:
    return list(shortlist.entries.order_by("position").values_list("endpoint_id", flat=True))


def bumped(shortlist) -> bool:
    return Shortlist.objects.get(pk=shortlist.pk).updated_at > LONG_AGO


def test_create_makes_a_list_the_user_curates_with_a_slug_from_its_title(curator):
    made = shortlist_create(user=curator, title="Lip sync!", description="Talking heads")
    made.refresh_from_db()
    assert (made.title, made.slug, made.description) == ("Lip sync!", "lip-sync", "Talking heads")
    assert made.curator == curator
    assert not LogEntry.objects.exists()  # as before: a list made on the site is not logged


def test_create_repeated_at_once_opens_the_first_list_and_later_makes_another(curator):
    first = shortlist_create(user=curator, title="Twice")
    assert shortlist_create(user=curator, title="Twice") == first
    cache.clear()  # the repeat window is over
    later = shortlist_create(user=curator, title="Twice")
    assert later != first and later.slug == "twice-2"
    assert Shortlist.objects.filter(title="Twice").count() == 2


def test_create_of_a_title_without_ascii_letters_gets_a_numbered_slug(curator):
    assert shortlist_create(user=curator, title="商品写真").slug == "list-1"
    assert shortlist_create(user=curator, title="写真").slug == "list-2"


def test_edit_saves_what_changed_keeps_the_slug_and_logs_the_fields(drafts, curator):
    fields = shortlist_edit(shortlist=drafts, user=curator, title="Heroes", description="Big")
    assert fields == ["Title", "Description"]
    drafts.refresh_from_db()
    assert (drafts.title, drafts.slug, drafts.description) == ("Heroes", "drafts", "Big")
    log = the_log(drafts)
    assert (log.action_flag, log.user_id) == (CHANGE, curator.pk)
    assert log.get_change_message() == "Changed Title and Description."
    assert log.object_repr == "Drafts"  # the name it had when it was changed
    assert bumped(drafts)


def test_edit_of_one_field_names_that_field(drafts, curator):
    assert shortlist_edit(shortlist=drafts, user=curator, title="Drafts", description="Now")
    assert the_log(drafts).get_change_message() == "Changed Description."


def test_edit_that_changes_nothing_writes_nothing(drafts, curator):
    assert shortlist_edit(shortlist=drafts, user=curator, title="Drafts", description="") == []
    assert not LogEntry.objects.exists()
    assert not bumped(drafts)


def test_delete_removes_the_list_and_its_entries_and_logs_a_deletion(drafts, curator):
    pk = drafts.pk
    assert shortlist_delete(shortlist=drafts, user=curator) == 2
    assert not Shortlist.objects.filter(pk=pk).exists()
    assert not ShortlistEntry.objects.filter(shortlist_id=pk).exists()
    log = LogEntry.objects.get(object_id=str(pk))
    assert (log.action_flag, log.object_repr, log.user_id) == (DELETION, "Drafts", curator.pk)


def test_add_puts_the_endpoint_last_with_its_note_and_logs_it(drafts, curator):
    entry = shortlist_entry_add(shortlist=drafts, user=curator, endpoint_id=DEV, note="Sharp")
    assert order(drafts) == [FLUX, BANANA, DEV]
    assert (entry.note, entry.added_by, entry.position) == ("Sharp", curator, 3)
    log = the_log(drafts)
    assert (log.action_flag, log.user_id) == (CHANGE, curator.pk)
    assert log.get_change_message() == f"Added shortlist entry “{DEV}”."
    assert bumped(drafts)


def test_adding_an_endpoint_already_on_the_list_changes_and_logs_nothing(drafts, curator):
    entry = shortlist_entry_add(shortlist=drafts, user=curator, endpoint_id=FLUX, note="Other")
    assert (entry.note, entry.position) == ("Fast", 1)
    assert drafts.entries.count() == 2
    assert not LogEntry.objects.exists()
    assert not bumped(drafts)


def test_remove_takes_the_entry_off_and_logs_it(drafts, curator):
    flux = drafts.entries.get(endpoint_id=FLUX)
    assert shortlist_entry_remove(shortlist=drafts, user=curator, endpoint_id=FLUX) == flux.pk
    assert order(drafts) == [BANANA]
    log = the_log(drafts)
    assert (log.action_flag, log.user_id) == (CHANGE, curator.pk)
    assert log.get_change_message() == f"Deleted shortlist entry “{FLUX}”."
    assert bumped(drafts)


@pytest.mark.parametrize("endpoint_id", [DEV, "not an id", "fal-ai/flux\x00/dev"])
def test_removing_what_the_list_does_not_hold_changes_and_logs_nothing(
    drafts, curator, endpoint_id
):
    assert shortlist_entry_remove(shortlist=drafts, user=curator, endpoint_id=endpoint_id) is None
    assert order(drafts) == [FLUX, BANANA]
    assert not LogEntry.objects.exists()


def test_note_changes_the_note_and_logs_it(drafts, curator):
    flux = drafts.entries.get(endpoint_id=FLUX)
    assert shortlist_entry_note(entry=flux, user=curator, note="Fast drafts only")
    assert drafts.entries.get(endpoint_id=FLUX).note == "Fast drafts only"
    log = the_log(drafts)
    assert (log.action_flag, log.user_id) == (CHANGE, curator.pk)
    assert log.get_change_message() == f"Changed Note for shortlist entry “{FLUX}”."
    assert bumped(drafts)


def test_an_unchanged_note_is_not_written_or_logged(drafts, curator):
    flux = drafts.entries.get(endpoint_id=FLUX)
    assert not shortlist_entry_note(entry=flux, user=curator, note="Fast")
    assert not LogEntry.objects.exists()
    assert not bumped(drafts)


def test_move_swaps_with_the_neighbour_renumbers_and_logs_it(drafts, curator):
    drafts.entries.create(endpoint_id=DEV, position=2)  # a tie, as the admin may leave
    moved = shortlist_entry_move(shortlist=drafts, user=curator, endpoint_id=DEV, step=1)
    assert moved is not None and moved.endpoint_id == DEV
    assert order(drafts) == [FLUX, BANANA, DEV]
    assert sorted(drafts.entries.values_list("position", flat=True)) == [1, 2, 3]
    log = the_log(drafts)
    assert (log.action_flag, log.user_id) == (CHANGE, curator.pk)
    assert log.get_change_message() == f"Changed Position for shortlist entry “{DEV}”."


def test_move_up_from_the_top_keeps_the_order(drafts, curator):
    moved = shortlist_entry_move(shortlist=drafts, user=curator, endpoint_id=FLUX, step=-1)
    assert moved is not None and moved.endpoint_id == FLUX
    assert order(drafts) == [FLUX, BANANA]


def test_moving_what_the_list_does_not_hold_changes_and_logs_nothing(drafts, curator):
    assert shortlist_entry_move(shortlist=drafts, user=curator, endpoint_id=DEV, step=1) is None
    assert order(drafts) == [FLUX, BANANA]
    assert not LogEntry.objects.exists()


def test_replace_names_the_successor_keeps_note_and_place_and_logs_both_ids(
    drafts, curator, member
):
    flux = drafts.entries.get(endpoint_id=FLUX)
    ShortlistEntry.objects.filter(pk=flux.pk).update(added_at=LONG_AGO, added_by=member)
    flux.refresh_from_db()
    shortlist_entry_replace(entry=flux, user=curator, successor=DEV)
    entry = ShortlistEntry.objects.get(pk=flux.pk)
    assert (entry.endpoint_id, entry.note, entry.position) == (DEV, "Fast", 1)
    assert entry.added_by == curator and entry.added_at > LONG_AGO  # its watch starts now
    log = the_log(drafts)
    assert (log.action_flag, log.user_id) == (CHANGE, curator.pk)
    assert log.get_change_message() == f"Changed Endpoint id for shortlist entry “{FLUX} → {DEV}”."
    assert bumped(drafts)
