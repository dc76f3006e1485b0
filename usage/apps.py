"""The usage app: what the team used, spent and suffered, as the last usage sync stored it."""

from __future__ import annotations

from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Team usage"
