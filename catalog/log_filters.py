"""Logging filters (see LOGGING in config/settings.py)."""

from __future__ import annotations

import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """django.request logs every 403 with its traceback; a refusal is expected, one line says it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
