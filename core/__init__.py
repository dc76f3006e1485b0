"""Infrastructure the apps share and nothing of ours imports back: the cache locks."""
