"""The catalog app: after every migrate (and test-database flush), the curator group exists."""

from __future__ import annotations

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.core.signals import request_finished, request_started
from django.db.models.signals import post_delete, post_migrate, post_save

CURATOR_GROUP = "curator"
CURATOR_CODENAMES = [
    f"{action}_{model}"
    for model in ("shortlist", "shortlistentry")
    for action in ("add", "change", "delete", "view")
]


def ensure_curator_group(sender, apps=global_apps, using="default", **kwargs) -> None:
    """Recreate the group a flush removed and give it any shortlist permission it lacks.

    Migration 0002 creates the group; a database flush (tests that use transactions,
    `manage.py flush`) empties it again, and this puts it back.
    """
    try:
        Group = apps.get_model("auth", "Group")  # noqa: N806
        Permission = apps.get_model("auth", "Permission")  # noqa: N806
    except LookupError:
        return
    permissions = Permission.objects.using(using).filter(
        content_type__app_label="catalog", codename__in=CURATOR_CODENAMES
    )
    group, _ = Group.objects.using(using).get_or_create(name=CURATOR_GROUP)
    group.permissions.add(*permissions)


class CatalogConfig(AppConfig):
    name = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Runs after auth's own post_migrate handler, which creates the permissions.
        post_migrate.connect(ensure_curator_group, sender=self)
        self.scope_catalog_state_to_requests()

    def scope_catalog_state_to_requests(self) -> None:
        """The index's state is read once per request (catalog.index.catalog_state); a run
        (catalog or usage sync) or the state written meanwhile is read again."""
        from catalog import index
        from catalog.models import IndexState, SyncRun
        from usage.models import UsageSyncRun

        request_started.connect(index.open_request_scope, dispatch_uid="catalog-state-open")
        request_finished.connect(index.close_request_scope, dispatch_uid="catalog-state-close")
        for model in (IndexState, SyncRun, UsageSyncRun):
            for signal in (post_save, post_delete):
                signal.connect(
                    index.forget_request_state,
                    sender=model,
                    dispatch_uid=f"catalog-state-{model.__name__}-{signal is post_save}",
                )
