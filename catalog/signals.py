"""What the catalog tells the apps above it, without importing them.

`sync_finished` is sent by every successful sync (the scheduler's, the staff button's,
`manage.py catalog_sync`'s, the history replay's) once its run is saved, with `run`, the
finished `SyncRun`: the watches app listens to it to deliver what changed.
"""

from __future__ import annotations

from django.dispatch import Signal

sync_finished = Signal()
