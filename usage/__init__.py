"""The usage app: the team's own spend, quantities, counts and latencies, synced from fal."""
