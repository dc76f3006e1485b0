"""The search's vocabulary (catalog.search_vocabulary): spelled as queries are read, one
group per word, and true of the bundled catalog and of the grid's facets."""

from __future__ import annotations

import gzip
import json
from itertools import chain

import pytest

from catalog.facets import FACETS_BY_NAME
from catalog.search import tokens
from catalog.search_vocabulary import (
    CAPABILITIES,
    CHEAP,
    FILLER,
    MEDIA,
    SAME,
    TASK_LINKS,
    TASK_VERBS,
    TASKS,
)
from fal.capabilities import HAS, OUTPUTS
from fal.types import parse_model
from fal_emulator import DEFAULT_MODELS_PATH

# Sorted: the vocabulary holds sets, and pytest-xdist's workers must collect one order.
ENTRIES = sorted({
    *FILLER, *CHEAP, *MEDIA, *TASK_LINKS, *TASK_VERBS, *chain.from_iterable(SAME),
    *(" ".join(words) for words in chain(TASKS, CAPABILITIES)),
})  # fmt: skip


@pytest.fixture(scope="module")
def snapshot():
    with gzip.open(DEFAULT_MODELS_PATH) as f:
        return [m for m in map(parse_model, json.load(f)["models"]) if m is not None]


@pytest.fixture(scope="module")
def catalog_words(snapshot) -> set[str]:
    words = set()
    for m in snapshot:
        meta = m.metadata
        words.update(tokens(" ".join([m.endpoint_id, meta.display_name, *meta.tags])))
        words.update(tokens(meta.description))
    return words


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_entry_is_spelled_as_a_query_is_read(entry):
    assert tokens(entry) == tuple(entry.split())


def test_a_word_has_one_group_and_a_named_thing_is_no_filler():
    named = [entry for group in SAME for entry in group]
    assert len(named) == len(set(named))
    assert not FILLER.intersection(named)
    assert not FILLER.intersection(CHEAP)


def test_each_group_names_something_the_catalog_says(catalog_words):
    for group in SAME:
        assert any(set(entry.split()) <= catalog_words for entry in group), group


def test_every_task_names_a_category_of_the_catalog(snapshot):
    categories = {m.metadata.category for m in snapshot}
    assert set(TASKS.values()) <= categories


def test_every_medium_is_part_of_a_category_name(snapshot):
    parts = {part for m in snapshot for part in m.metadata.category.split("-to-")}
    assert set(MEDIA.values()) <= parts


def test_every_capability_is_a_value_of_its_facet():
    values = {"outputs": OUTPUTS, "has": HAS}
    for facet, value in CAPABILITIES.values():
        assert facet in FACETS_BY_NAME
        assert value in values[facet]
