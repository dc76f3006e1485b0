"""Pure-Python client and offline emulator for fal's Platform API (`GET /v1/models`); no Django."""
