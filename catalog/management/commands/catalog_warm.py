"""``manage.py catalog_warm``: fetch fal's whole catalog into the cache, with a progress bar."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from catalog import services
from fal.errors import FalAPIError


class Command(BaseCommand):
    help = (
        "Fetch every page of fal's catalog into the cache so the first visitors find it warm. "
        "Pages already cached are kept unless --refresh is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--refresh", action="store_true", help="drop the cached catalog first, then fetch"
        )

    def handle(self, *args: Any, refresh: bool, **options: Any) -> None:
        source = services.data_source()
        if refresh:
            services.catalog_refresh()
        # The bar goes to the raw stream: Django's wrapper would end every redraw with "\n".
        with tqdm(
            desc=f"Warming from {source.base_url}",
            unit=" models",
            file=getattr(self.stderr, "_out", self.stderr),
            disable=options.get("verbosity", 1) == 0,
        ) as bar:
            try:
                result = services.catalog_warm(on_page=bar.update)
            except FalAPIError as error:
                raise CommandError(f"The fal API failed: {error.message}") from error
        if result.stale:
            self.stderr.write(
                f"The fal API failed ({result.error.message}); "
                f"the cache holds the catalog as of {result.fetched_at:%Y-%m-%d %H:%M} UTC."
            )
        self.stdout.write(
            f"{len(result.models)} models cached from {source.label} "
            f"(data as of {result.fetched_at:%H:%M:%S} UTC)."
        )
