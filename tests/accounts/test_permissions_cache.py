"""Permission sets cached across requests (accounts/permissions.py): read from the cache, not
the database, and gone the moment who has what changes: a group left, a permission taken
away, a superuser unmade. On each production cache backend."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Shortlist

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ADD = "/shortlists/picks/add/"
BODY = {"endpoint_id": "fal-ai/flux/schnell"}


@pytest.fixture
def picks(db):
    return Shortlist.objects.create(title="Picks", slug="picks")


def permission_queries(client, path: str = "/shortlists/picks/") -> tuple[int, int]:
    """(status, how many queries read auth_permission) of one GET."""
    with CaptureQueriesContext(connection) as captured:
        status = client.get(path).status_code
    return status, sum("auth_permission" in query["sql"] for query in captured.captured_queries)


def test_a_curators_permissions_are_read_once_then_from_the_cache(
    client, curator, picks, cache_backend
):
    client.force_login(curator)
    assert permission_queries(client) == (200, 2)  # the user's own, then their groups'
    assert permission_queries(client) == (200, 0)
    assert client.post(ADD, BODY).status_code == 302


def test_leaving_the_curator_group_takes_effect_on_the_next_request(
    client, curator, picks, cache_backend
):
    client.force_login(curator)
    assert client.post(ADD, BODY).status_code == 302
    assert "shortlist-menu" in client.get("/models/fal-ai/flux/dev/").content.decode()
    curator.groups.remove(Group.objects.get(name="curator"))
    assert client.post(ADD, {"endpoint_id": "fal-ai/flux/dev"}).status_code == 403
    assert "shortlist-menu" not in client.get("/models/fal-ai/flux/dev/").content.decode()


def test_a_permission_taken_from_the_group_or_the_user_is_gone_at_once(
    client, member, picks, cache_backend
):
    add_entry = Permission.objects.get(codename="add_shortlistentry")
    member.user_permissions.add(add_entry)
    client.force_login(member)
    assert client.post(ADD, BODY).status_code == 302
    member.user_permissions.remove(add_entry)
    assert client.post(ADD, {"endpoint_id": "fal-ai/flux/dev"}).status_code == 403

    group = Group.objects.create(name="adders")
    group.permissions.add(add_entry)
    member.groups.add(group)
    assert client.post(ADD, {"endpoint_id": "fal-ai/flux/dev"}).status_code == 302
    group.permissions.remove(add_entry)
    assert client.post(ADD, {"endpoint_id": "fal-ai/nano-banana-2"}).status_code == 403
    group.permissions.add(add_entry)
    assert client.post(ADD, {"endpoint_id": "fal-ai/nano-banana-2"}).status_code == 302
    group.delete()
    assert client.post(ADD, {"endpoint_id": "fal-ai/flux/kontext"}).status_code == 403


def test_an_unmade_superuser_loses_every_permission(django_user_model):
    from accounts.permissions import CachedPermissionsBackend

    backend = CachedPermissionsBackend()
    django_user_model.objects.create_user("boss", is_superuser=True)
    assert "catalog.add_shortlistentry" in backend.get_all_permissions(
        django_user_model.objects.get(username="boss")
    )
    django_user_model.objects.filter(username="boss").update(is_superuser=False)
    # No group or permission changed, no signal: the key names the superuser flag.
    assert backend.get_all_permissions(django_user_model.objects.get(username="boss")) == set()


def test_a_revoked_permission_stays_revoked_when_the_cache_drops_the_generation(
    client, member, picks, cache_backend
):
    # The file cache culls a third of its entries when full, Redis may evict under memory
    # pressure: losing the generation key must not bring back sets cached before a change.
    from django.core.cache import cache

    from accounts.permissions import GENERATION_KEY

    add_entry = Permission.objects.get(codename="add_shortlistentry")
    member.user_permissions.add(add_entry)
    client.force_login(member)
    cache.delete(GENERATION_KEY)  # dropped before the set is cached, and again after the change
    assert client.post(ADD, BODY).status_code == 302
    member.user_permissions.remove(add_entry)
    cache.delete(GENERATION_KEY)
    assert client.post(ADD, {"endpoint_id": "fal-ai/flux/dev"}).status_code == 403


def test_a_question_about_one_object_gets_djangos_answer_none(member, picks, django_user_model):
    # ModelBackend grants nothing per object; a cached set must not answer for one either.
    from accounts.permissions import CachedPermissionsBackend

    member.user_permissions.add(Permission.objects.get(codename="add_shortlistentry"))
    member.groups.add(Group.objects.get(name="curator"))
    user = django_user_model.objects.get(pk=member.pk)
    backend = CachedPermissionsBackend()
    assert "catalog.add_shortlistentry" in backend.get_user_permissions(user)
    assert "catalog.delete_shortlistentry" in backend.get_group_permissions(user)
    # Asked again in the same request: the sets this user object already holds.
    assert backend.get_user_permissions(user) == {"catalog.add_shortlistentry"}
    assert "catalog.delete_shortlistentry" in backend.get_group_permissions(user)
    assert backend.get_user_permissions(user, obj=picks) == set()
    assert backend.get_group_permissions(user, obj=picks) == set()
    assert not user.has_perm("catalog.add_shortlistentry", picks)


def test_a_curator_made_inactive_then_active_again_has_their_permissions_back(
    curator, django_user_model
):
    # An inactive user has none (ModelBackend); that empty set must not be cached for them.
    # has_perm() refuses an inactive user before asking; User.get_group_permissions() asks.
    django_user_model.objects.filter(pk=curator.pk).update(is_active=False)
    assert django_user_model.objects.get(pk=curator.pk).get_group_permissions() == set()
    django_user_model.objects.filter(pk=curator.pk).update(is_active=True)
    user = django_user_model.objects.get(pk=curator.pk)
    assert "catalog.add_shortlistentry" in user.get_group_permissions()
    assert user.has_perm("catalog.add_shortlistentry")


def test_a_page_reads_the_permissions_in_two_cache_reads(
    client, curator, picks, cache_backend, monkeypatch
):
    from django.core.cache import caches

    client.force_login(curator)
    client.get("/shortlists/picks/")  # the sets cached
    backend = caches["default"]
    real_get = backend.get
    reads = []

    def counting_get(key, *args, **kwargs):
        if key.startswith("auth:"):
            reads.append(key)
        return real_get(key, *args, **kwargs)

    monkeypatch.setattr(backend, "get", counting_get)
    assert client.get("/shortlists/picks/").status_code == 200
    # The generation, then one entry with both the user's own and their groups' sets.
    assert len(reads) == 2, reads
