"""Permission sets cached across requests. Django's ModelBackend reads a user's permissions
with two queries (their own, their groups') on every request that checks one, and every
page does (a curator's controls). Here the sets are cached per user under one generation
key, which any change of who has what replaces, so a revoked permission is gone from the
next request, on every server."""

from __future__ import annotations

import uuid
from typing import cast

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

GENERATION_KEY = "auth:permissions-generation"
KEPT_SECONDS = 24 * 3600  # an idle user's sets expire; a change replaces them at once


def generation() -> str:
    # The stored value, or the one just set: a str, never the None the stubs allow for.
    return cast(str, cache.get_or_set(GENERATION_KEY, lambda: uuid.uuid4().hex, None))


def forget_permissions() -> None:
    """Every cached permission set is stale: a new generation makes them unreachable."""
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)


class CachedPermissionsBackend(ModelBackend):
    def get_user_permissions(self, user_obj, obj=None):
        return self._cached(user_obj, obj, "user", super().get_user_permissions)

    def get_group_permissions(self, user_obj, obj=None):
        return self._cached(user_obj, obj, "group", super().get_group_permissions)

    def _cached(self, user_obj, obj, kind: str, load) -> set[str]:
        if obj is not None or not user_obj.is_active or user_obj.is_anonymous:
            return load(user_obj, obj)  # nothing to cache: ModelBackend answers empty sets
        per_request = f"_{kind}_perm_cache"  # where ModelBackend keeps them for this request
        if not hasattr(user_obj, per_request):
            for each, perms in self._both_sets(user_obj).items():
                setattr(user_obj, f"_{each}_perm_cache", perms)
        return getattr(user_obj, per_request)

    def _both_sets(self, user_obj) -> dict[str, set[str]]:
        """The user's own and their groups' permissions under one key: a page that checks
        any permission asks for both, so one cache read (after the generation's) serves it."""
        # A superuser has every permission: a user made or unmade one gets a new key.
        key = f"auth:permissions:{generation()}:{user_obj.pk}:{user_obj.is_superuser:d}"
        sets = cache.get(key)
        if sets is None:
            sets = {
                "user": ModelBackend.get_user_permissions(self, user_obj),
                "group": ModelBackend.get_group_permissions(self, user_obj),
            }
            cache.set(key, sets, KEPT_SECONDS)
        return sets


def _changed(**kwargs) -> None:
    # Now, for this process and the test client; and again once the change is committed,
    # for a request that read the old rows while the change was still in its transaction.
    forget_permissions()
    transaction.on_commit(forget_permissions)


def connect_signals() -> None:
    """Called by the catalog app when Django starts, in every process that could change
    who has what (web servers, workers, `manage.py shell`), not only those that check."""
    for through in (
        Group.permissions.through,
        Group.user_set.through,  # a user's groups
        Permission.user_set.through,  # a user's own permissions
    ):
        m2m_changed.connect(_changed, sender=through, dispatch_uid=f"perms-{through.__name__}")
    for model, signal, what in (
        (Group, post_delete, "deleted"),
        (Permission, post_delete, "deleted"),
        (Permission, post_save, "saved"),
    ):
        signal.connect(_changed, sender=model, dispatch_uid=f"perms-{model.__name__}-{what}")
