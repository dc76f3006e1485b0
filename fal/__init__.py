"""Pure-Python client for fal's Platform API (`GET /v1/models`, pricing); no Django."""
