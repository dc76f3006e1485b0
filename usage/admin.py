"""The usage sync's runs in the Django admin, read-only: what each fetched, and why not."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from usage.models import UsageSyncRun


@admin.register(UsageSyncRun)
class UsageSyncRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "trigger", "usage", "analytics", "upstream_calls",
                    "usage_lines", "endpoints_used", "finished_at"]  # fmt: skip
    list_filter = ["usage", "analytics", "trigger"]
    readonly_fields = [field.name for field in UsageSyncRun._meta.fields]

    # Runs are what happened: nobody adds, edits or deletes them by hand.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: UsageSyncRun | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: UsageSyncRun | None = None) -> bool:
        return False
