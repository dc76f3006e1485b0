"""The catalog history (catalog.diff, and the sync recording it): each kind of change,
the breaking rule, category coverage, undated documents, and the replay of the real
bundled crawls against the counts in fal_emulator/data/README.md."""

from __future__ import annotations

import copy
import time
from collections import Counter

import pytest

from catalog import upstream
from catalog.diff import diff_documents, diff_entry
from catalog.models import CatalogEntry, Change, SyncRun
from catalog.sync import CrawlFacts, sync_catalog
from fal_emulator import Emulator, history_dates, load_snapshot, load_state

FLUX = "fal-ai/flux/dev"


@pytest.fixture(scope="module")
def snapshot():
    return load_snapshot()


@pytest.fixture
def flux(snapshot):
    """fal-ai/flux/dev's real document, and its input and output schemas to change."""
    document = copy.deepcopy(snapshot[1][FLUX])
    schemas = document["components"]["schemas"]
    return document, schemas["FluxDevInput"], schemas["FluxDevOutput"]


def changes_of(before, after):
    return {(c.field, c.aspect): c for c in diff_documents(FLUX, before, after)}


# --- Entries ---------------------------------------------------------------------------------


def entry(**metadata):
    base = {"display_name": "Flux", "category": "text-to-image", "status": "active",
            "description": "d", "license_type": "commercial", "kind": "inference",
            "tags": ["a", "b"], "thumbnail_url": "https://x/1.jpg",
            "group": {"key": "flux", "label": "Dev"}}  # fmt: skip
    return {"endpoint_id": FLUX, "metadata": {**base, **metadata}}


def test_a_new_display_name_is_a_rename_and_nothing_else():
    (change,) = diff_entry(FLUX, entry(), entry(display_name="FLUX.1 [dev]"))
    assert (change.kind, change.before, change.after) == ("renamed", "Flux", "FLUX.1 [dev]")


def test_each_metadata_field_is_its_own_change():
    after = entry(description="e", category="image-to-image", license_type="research",
                  kind="training", tags=["a", "c"], thumbnail_url="https://x/2.jpg",
                  group={"key": "flux", "label": "Pro"})  # fmt: skip
    changes = diff_entry(FLUX, entry(), after)
    assert {c.kind for c in changes} == {"metadata"}
    assert {c.field for c in changes} == {
        "description", "category", "license", "kind", "tags", "thumbnail", "group"
    }  # fmt: skip
    assert not any(c.breaking for c in changes)


def test_reordered_tags_and_a_bumped_updated_at_are_no_change():
    assert diff_entry(FLUX, entry(tags=["a", "b"]), entry(tags=["b", "a"], updated_at="x")) == []


def test_a_deprecated_status_is_a_deprecation():
    (change,) = diff_entry(FLUX, entry(), entry(status="deprecated"))
    assert (change.kind, change.before, change.after) == ("deprecated", "active", "deprecated")


# --- Documents and the breaking rule -----------------------------------------------------------


def test_an_input_that_becomes_required_breaks(flux):
    document, inputs, _ = flux
    after = copy.deepcopy(document)
    after["components"]["schemas"]["FluxDevInput"]["required"] = ["prompt", "seed"]
    change = changes_of(document, after)[("input.seed", "required")]
    assert (change.before, change.after, change.breaking) == (False, True, True)
    assert not changes_of(after, document)[("input.seed", "required")].breaking


def test_an_input_added_as_required_breaks_and_an_optional_one_does_not(flux):
    document, inputs, _ = flux
    inputs["properties"]["mask_url"] = {"type": "string"}
    inputs["properties"]["style"] = {"type": "string", "enum": ["a", "b"]}
    inputs["required"] = ["prompt", "mask_url"]
    changes = changes_of(load_snapshot()[1][FLUX], document)
    assert changes[("input.mask_url", "added")].breaking
    assert changes[("input.mask_url", "added")].after == {"type": "string", "required": True}
    assert not changes[("input.style", "added")].breaking


def test_a_removed_input_or_output_breaks_and_an_added_output_does_not(flux, snapshot):
    document, inputs, outputs = flux
    del inputs["properties"]["seed"]
    del outputs["properties"]["timings"]
    outputs["properties"]["usage"] = {"type": "object"}
    changes = changes_of(snapshot[1][FLUX], document)
    assert changes[("input.seed", "removed")].breaking
    assert changes[("output.timings", "removed")].breaking
    assert not changes[("output.usage", "added")].breaking
    assert len(changes) == 3


def test_narrowed_enums_and_limits_break_widened_ones_do_not(flux, snapshot):
    original = snapshot[1][FLUX]
    document, inputs, _ = flux
    inputs["properties"]["output_format"]["enum"] = ["jpeg"]
    inputs["properties"]["num_images"]["maximum"] = 2
    inputs["properties"]["guidance_scale"]["maximum"] = 30
    narrowed = changes_of(original, document)
    assert narrowed[("input.output_format", "enum")].breaking
    assert narrowed[("input.output_format", "enum")].after == ["jpeg"]
    assert narrowed[("input.num_images", "limits")].breaking
    assert narrowed[("input.num_images", "limits")].after == {"minimum": 1, "maximum": 2}
    assert not narrowed[("input.guidance_scale", "limits")].breaking
    reverse = changes_of(document, original)
    assert not reverse[("input.output_format", "enum")].breaking
    assert not reverse[("input.num_images", "limits")].breaking
    assert reverse[("input.guidance_scale", "limits")].breaking


def test_an_enum_imposed_on_a_free_text_input_breaks_and_lifting_it_does_not(flux, snapshot):
    original = snapshot[1][FLUX]
    document, inputs, _ = flux
    assert "enum" not in inputs["properties"]["prompt"]  # free text until now
    inputs["properties"]["prompt"]["enum"] = ["a cat", "a dog"]
    imposed = changes_of(original, document)[("input.prompt", "enum")]
    assert (imposed.before, imposed.after, imposed.breaking) == ([], ["a cat", "a dog"], True)
    assert not changes_of(document, original)[("input.prompt", "enum")].breaking


def test_a_changed_default_is_recorded_but_does_not_break(flux, snapshot):
    document, inputs, _ = flux
    inputs["properties"]["num_inference_steps"]["default"] = 20
    change = changes_of(snapshot[1][FLUX], document)[("input.num_inference_steps", "default")]
    assert (change.before, change.after, change.breaking) == (28, 20, False)


def test_a_type_that_loses_a_branch_breaks(flux, snapshot):
    document, inputs, _ = flux
    inputs["properties"]["seed"] = {"type": "string"}
    change = changes_of(snapshot[1][FLUX], document)[("input.seed", "type")]
    assert (change.before, change.after, change.breaking) == ("integer", "string", True)


def test_a_missing_document_is_unknown_not_every_field_removed(snapshot):
    error = {"error": {"code": "expansion_failed", "message": "Failed to fetch OpenAPI schema"}}
    assert diff_documents(FLUX, snapshot[1][FLUX], error) == []
    assert diff_documents(FLUX, None, snapshot[1][FLUX]) == []
    assert diff_documents(FLUX, snapshot[1][FLUX], snapshot[1][FLUX]) == []


# --- The sync records changes --------------------------------------------------------------------


def sync_catalog_from(models, documents, **facts):
    with upstream.offline_source(Emulator(models, documents)):
        run = sync_catalog(trigger="test", facts=CrawlFacts(**facts))
    assert run.state == "succeeded", run.error
    return run


@pytest.mark.django_db
def test_a_sync_records_added_gone_back_renamed_and_schema_changes(snapshot):
    models, documents = copy.deepcopy(snapshot[0]), copy.deepcopy(snapshot[1])
    gone = models.pop(5)
    models.append({"endpoint_id": "acme/new-model", "metadata": {"category": "text-to-image"}})
    models[0]["metadata"]["display_name"] = "Renamed"
    documents[FLUX]["components"]["schemas"]["FluxDevInput"]["required"] = ["prompt", "seed"]
    run = sync_catalog_from(models, documents, all_documents=True)
    seen = {(c.endpoint_id, c.kind, c.field, c.aspect, c.breaking) for c in run.changes.all()}
    assert seen == {
        (gone["endpoint_id"], "gone", "", "", False),
        ("acme/new-model", "added", "", "", False),
        (models[0]["endpoint_id"], "renamed", "display_name", "", False),
        (FLUX, "schema", "input.seed", "required", True),
    }
    assert run.changes_recorded == 4
    assert {c.seen_at for c in run.changes.all()} == {run.catalog_date}
    back = sync_catalog_from(snapshot[0], snapshot[1])
    assert set(back.changes.values_list("endpoint_id", "kind")) >= {(gone["endpoint_id"], "back")}
    # Each row carries the model's category and license, which the change log filters on.
    category, license_type = gone["metadata"]["category"], gone["metadata"]["license_type"]
    rows = Change.objects.filter(endpoint_id=gone["endpoint_id"])
    assert {(r.kind, r.category, r.license) for r in rows} == {
        ("gone", category, license_type),
        ("back", category, license_type),
    }
    assert ("acme/new-model", "gone") in set(back.changes.values_list("endpoint_id", "kind"))


@pytest.mark.django_db
def test_undated_documents_say_nothing_about_schemas(snapshot):
    """The offline snapshot's documents are earlier crawls': a changed one is stored, not
    diffed (default facts offline), so no sync claims a schema change it did not see."""
    models, documents = copy.deepcopy(snapshot[0]), copy.deepcopy(snapshot[1])
    documents[FLUX]["components"]["schemas"]["FluxDevInput"]["required"] = ["prompt", "seed"]
    next(m for m in models if m["endpoint_id"] == FLUX)["metadata"]["updated_at"] = "later"
    with upstream.offline_source(Emulator(models, documents)):
        run = sync_catalog(trigger="test")
    assert run.documents_dated is False
    assert not run.changes.exists()
    stored = CatalogEntry.objects.get(endpoint_id=FLUX).openapi
    assert stored["components"]["schemas"]["FluxDevInput"]["required"] == ["prompt", "seed"]


@pytest.mark.django_db
def test_a_crawl_that_did_not_cover_a_category_does_not_make_its_endpoints_gone(snapshot):
    models = [m for m in snapshot[0] if m["metadata"].get("category") != "image-to-image"]
    covered = {m["metadata"].get("category") for m in models}
    run = sync_catalog_from(models, snapshot[1], categories=frozenset(covered))
    assert run.gone == 0 and not run.changes.exists()
    uncovered = sync_catalog_from(models, snapshot[1])  # a complete crawl: they are gone
    assert uncovered.gone == len(snapshot[0]) - len(models) > 300
    assert set(uncovered.changes.values_list("kind", flat=True)) == {"gone"}
    assert set(uncovered.changes.values_list("category", flat=True)) == {"image-to-image"}


# --- The real history ------------------------------------------------------------------------


def both_covered(step_categories, previous_categories):
    if step_categories is None:
        return previous_categories
    return step_categories & previous_categories


@pytest.mark.django_db
def test_the_replay_of_the_real_crawls_lands_on_the_recorded_counts(capsys):
    """From an empty index, the four bundled dates; counts only for endpoints whose category
    both crawls covered, as the README counts them (its schema figures count documents
    whose any component schema changed; ours count top-level input/output fields)."""
    from catalog.replay import replay_history

    Change.objects.all().delete()
    CatalogEntry.objects.all().delete()
    SyncRun.objects.all().delete()
    started = time.monotonic()
    runs = replay_history()
    elapsed = time.monotonic() - started
    assert [r.state for r in runs] == ["succeeded"] * 4
    assert [r.catalog_date.date().isoformat() for r in runs] == history_dates()
    assert not runs[0].changes.exists()  # the first crawl is the baseline

    per_step = {}
    previous = load_state(history_dates()[0]).categories
    for date, run in zip(history_dates()[1:], runs[1:], strict=True):
        state = load_state(date)
        covered = both_covered(state.categories, previous)
        changes = [c for c in run.changes.all() if c.category in covered]
        kinds = Counter(c.kind for c in changes)
        fields = Counter(c.field for c in changes if c.kind == "metadata")
        schema_endpoints = {c.endpoint_id for c in changes if c.kind == "schema"}
        per_step[date] = (kinds, fields, len(schema_endpoints))
        previous = state.categories or previous
    with capsys.disabled():
        print(f"\nreplay of {len(runs)} states: {elapsed:.1f} s")
        for date, (kinds, _, endpoints) in per_step.items():
            print(f"  {date}: {dict(kinds)}; schema changes in {endpoints} endpoints")

    kinds, fields, endpoints = per_step["2026-06-05"]
    assert (kinds["added"], kinds["gone"], kinds["renamed"]) == (268, 97, 78)
    # 180 endpoints' top-level fields changed (the README's 526 also counts nested schemas).
    assert 150 <= endpoints <= 550 and kinds["schema"] > 400
    kinds, fields, endpoints = per_step["2026-06-11"]
    assert (kinds["added"], kinds["gone"]) == (13, 0)
    assert 18 <= endpoints <= 21
    kinds, fields, endpoints = per_step["2026-08-10"]
    assert (kinds["added"], kinds["gone"]) == (127, 33)
    assert (fields["thumbnail"], fields["kind"], fields["license"]) == (112, 11, 6)
    assert kinds["schema"] == 0  # 08-10 has no documents of its own
    assert not runs[-1].documents_dated
    breaking = Change.objects.filter(breaking=True)
    assert breaking.exists() and set(breaking.values_list("kind", flat=True)) == {"schema"}
    assert elapsed < 120


@pytest.mark.django_db
def test_catalog_sync_on_a_fresh_offline_install_replays_the_history(monkeypatch):
    """What bin/serve runs: the first `catalog_sync` offline syncs every bundled date (the
    replay itself is stubbed here: the test above times the real one)."""
    import io

    from django.core.management import call_command

    from catalog import replay

    dates = []

    def fake_sync(*, trigger, facts, **kwargs):
        dates.append((trigger, facts.categories is None, facts.documents_dated))
        run = SyncRun.objects.create(trigger=trigger, state="succeeded", source="x")
        for kind in ("added", "added", "price") if len(dates) == 2 else ():
            Change.objects.create(endpoint_id="a/b", kind=kind, sync=run, seen_at=run.started_at)
        return run

    CatalogEntry.objects.all().delete()
    SyncRun.objects.all().delete()
    monkeypatch.setattr(replay, "sync_catalog", fake_sync)
    out = io.StringIO()
    call_command("catalog_sync", "--quiet", stdout=out)
    assert [d[0] for d in dates] == [f"history {d}" for d in history_dates()]
    assert dates[-1][1:] == (True, False)  # 08-10: complete, documents not its own
    assert all(d[1:] == (False, True) for d in dates[:-1])
    assert "Replayed 4 dated states" in out.getvalue()
    second = out.getvalue().splitlines()[1]  # changes per kind on each step's line
    assert second.startswith(f"history {history_dates()[1]}:") and second.endswith(
        "(2 added, 1 price)"
    )
    call_command("catalog_sync", "--quiet", stdout=io.StringIO())  # not fresh any more
    assert len(dates) == 4


def test_the_emulator_serves_a_bundled_date_over_http():
    """`python -m fal_emulator --as-of 2026-06-05`: that crawl's catalog, not the snapshot."""
    import requests

    from fal_emulator.cli import start

    url, stop = start(port=0, as_of="2026-06-05")
    try:
        ids = []
        cursor = None
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = requests.get(f"{url}/models", params=params, timeout=10).json()
            ids += [m["endpoint_id"] for m in page["models"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
    finally:
        stop()
    assert ids == [m["endpoint_id"] for m in load_state("2026-06-05").models]
    assert len(ids) == 940
    with pytest.raises(ValueError, match="No bundled crawl"):
        load_state("2026-07-01")
