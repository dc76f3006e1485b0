"""`python -m fal_emulator`: serve the offline emulator on loopback (see fal_emulator.cli)."""

from __future__ import annotations

import sys

from fal_emulator.cli import main

sys.exit(main())
