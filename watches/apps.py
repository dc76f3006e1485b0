"""The watches app: saved searches and watches, told after every sync what changed."""

from __future__ import annotations

from django.apps import AppConfig


class WatchesConfig(AppConfig):
    name = "watches"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalog.signals import sync_finished
        from watches.tasks import after_sync

        sync_finished.connect(after_sync, dispatch_uid="watches.after_sync")
