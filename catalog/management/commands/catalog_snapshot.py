"""Record the catalog (with OpenAPI documents) from FAL_API_URL into gzipped snapshot files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog import services, upstream
from fal.errors import FalAPIError
from fal.types import EXPAND_OPENAPI, ModelsQuery, find_queries


def openapi_path_for(models_path: Path) -> Path:
    """`x.json.gz` -> `x.openapi.json.gz`: the documents live beside the models file."""
    name = models_path.name.removesuffix(".json.gz")
    return models_path.with_name(f"{name}.openapi.json.gz")


class Command(BaseCommand):
    help = (
        "Record every model of the configured API (FAL_API_URL, or the offline emulator) into "
        "OUT.json.gz, and their OpenAPI documents into OUT.openapi.json.gz."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("out", type=Path, help="path of the models file, ending in .json.gz")
        parser.add_argument("--no-openapi", action="store_true", help="skip the OpenAPI documents")

    def handle(self, *args, out: Path, no_openapi: bool, **options) -> None:
        if not out.name.endswith(".json.gz"):
            raise CommandError("OUT must end in .json.gz")
        client = upstream.get_client()
        show = options.get("verbosity", 1) > 0
        try:
            entries = self._record_models(client, show)
            documents = {} if no_openapi else self._record_openapi(client, entries, show)
        except FalAPIError as error:
            raise CommandError(f"The API failed: {error.message}") from error
        out.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(out, "wt", encoding="utf-8") as f:
            json.dump({"models": entries, "next_cursor": None, "has_more": False}, f)
        if not no_openapi:
            with gzip.open(openapi_path_for(out), "wt", encoding="utf-8") as f:
                json.dump(documents, f)
        self.stdout.write(
            self.style.SUCCESS(
                f"Recorded {len(entries)} models and {len(documents)} OpenAPI documents "
                f"from {services.data_source().base_url} into {out}"
            )
        )

    def _record_models(self, client, show: bool) -> list[dict]:
        entries: list[dict] = []
        seen: set[str | None] = set()  # an entry without an id counts once
        with tqdm(desc="models", unit=" models", disable=not show) as bar:
            for data in client.iter_pages_json(ModelsQuery(limit=100)):
                for entry in data["models"]:
                    if isinstance(entry, dict) and entry.get("endpoint_id") not in seen:
                        seen.add(entry.get("endpoint_id"))
                        entries.append(entry)
                bar.update(len(data["models"]))
        return entries

    def _record_openapi(self, client, entries: list[dict], show: bool) -> dict[str, dict]:
        documents: dict[str, dict] = {}
        ids = [e["endpoint_id"] for e in entries if isinstance(e.get("endpoint_id"), str)]
        with tqdm(total=len(ids), desc="openapi", unit=" models", disable=not show) as bar:
            for query in find_queries(ids, expand=[EXPAND_OPENAPI]):
                for data in client.iter_pages_json(query):
                    for entry in data["models"]:
                        document = entry.get("openapi") if isinstance(entry, dict) else None
                        if isinstance(document, dict) and "openapi" in document:
                            documents[entry["endpoint_id"]] = document
                bar.update(len(query.endpoint_ids))
        return documents
