"""`python -m fal.emulator`: serve the offline emulator on loopback (see fal.emulator.server)."""

from __future__ import annotations

import sys

from fal.emulator.server import main

sys.exit(main())
