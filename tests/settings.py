"""Settings for the test run: the project's own, with a secret key of this run only.

Tests run with DEBUG off, where config/settings.py refuses to start without
DJANGO_SECRET_KEY. Setting it here, before those settings are read, also hands it to the
subprocesses tests start (they inherit the environment).
"""

from __future__ import annotations

import os
import secrets

os.environ.setdefault("DJANGO_SECRET_KEY", "test-run-" + secrets.token_urlsafe(40))

from config.settings import *  # noqa: E402, F403
