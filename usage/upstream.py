"""fal as the usage sync reaches it: a client for usage (the admin key) and one for analytics.

Live (`FAL_API_URL` set), usage is asked with `FAL_ADMIN_KEY` and analytics with `FAL_KEY`
(or the admin key when it is the only one). Offline, both go to the in-process emulator
with its own keys (its admin key, so the demo team shows everything): the team's keys are
for fal alone. A key is never put anywhere but the client's `Authorization` header.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from fal.client import FalModelsClient
from fal_emulator import OFFLINE_KEY, WSGITransport, snapshot_emulator
from fal_emulator.usage import OFFLINE_ADMIN_KEY

# Where the in-process emulator answers (as for the catalog): `.invalid` never resolves.
OFFLINE_BASE_URL = "http://fal-emulator.invalid/v1"


@dataclass(frozen=True)
class UsageClients:
    """`usage`/`analytics` are None when there is no key to ask with."""

    base_url: str
    live: bool
    usage: FalModelsClient | None
    analytics: FalModelsClient | None


def usage_clients() -> UsageClients:
    """Clients with the sync's patience: its retries and `Retry-After` cap, fal's timeout."""
    live = bool(settings.FAL_API_URL)
    base_url = settings.FAL_API_URL if live else OFFLINE_BASE_URL
    transport = None if live else WSGITransport(snapshot_emulator())

    def client(key: str) -> FalModelsClient | None:
        if not key:
            return None
        return FalModelsClient(
            base_url=base_url,
            key=key,
            timeout=settings.FAL_API_TIMEOUT,
            max_retries=settings.CATALOG_SYNC_MAX_RETRIES,
            retry_after_cap=settings.CATALOG_SYNC_RETRY_AFTER_CAP,
            transport=transport,
        )

    if live:
        admin_key, key = settings.FAL_ADMIN_KEY, settings.FAL_KEY or settings.FAL_ADMIN_KEY
    else:
        admin_key, key = OFFLINE_ADMIN_KEY, OFFLINE_KEY
    return UsageClients(base_url, live, client(admin_key), client(key))
