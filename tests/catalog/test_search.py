"""Catalog search: tokens, edit distance, ranking on tiny catalogs and on the real snapshot."""

from __future__ import annotations

import gzip
import json
import threading

import pytest

from catalog.search import FEW, SearchIndex, _edit_distance, offers, tokens
from fal.types import Group, Model, ModelMetadata, parse_model
from fal_emulator import DEFAULT_MODELS_PATH
from tests.helpers import (
    judge_search,
    judged_catalog,
    judged_search,
    search_judgements,
    search_scores_line,
    search_timings,
)


def model(endpoint_id: str, name: str = "", **metadata) -> Model:
    """A catalog entry with only the fields a test cares about."""
    return Model(endpoint_id=endpoint_id, metadata=ModelMetadata(display_name=name, **metadata))


@pytest.fixture(scope="module")
def snapshot() -> list[Model]:
    with gzip.open(DEFAULT_MODELS_PATH) as f:
        return [m for m in map(parse_model, json.load(f)["models"]) if m is not None]


@pytest.fixture(scope="module")
def index(snapshot) -> SearchIndex:
    return SearchIndex(snapshot)


@pytest.fixture(scope="module")
def found(snapshot, index):
    """The endpoint ids a query finds in the snapshot, best first."""
    return lambda q: [snapshot[p].endpoint_id for p in index.search(q)]


def searchable_words(m: Model) -> set[str]:
    meta = m.metadata
    fields = [m.endpoint_id, meta.display_name, meta.category, meta.description, *meta.tags]
    if meta.group:
        fields += [meta.group.key, meta.group.label]
    return {word for field in fields for word in tokens(field)}


# --- tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fal-ai/flux/dev", ("fal", "ai", "flux", "dev")),
        ("FLUX.1 [dev]", ("flux", "1", "dev")),
        ("Café Crème", ("cafe", "creme")),
        ("naïve", ("naive",)),
        ("Straße", ("strasse",)),
        ("snake_case", ("snake", "case")),
        ("video to video", ("video", "to")),
        ("ﬁne-tune", ("fine", "tune")),
        # Other scripts stay words; the dakuten of デ is a combining mark, stripped alike
        # from query and catalog.
        ("日本語 モデル", ("日本語", "モテル")),
        ("", ()),
        (" -- !! [] ", ()),
    ],
)
def test_tokens_casefold_strip_accents_split_on_non_alphanumerics_and_dedupe(text, expected):
    assert tokens(text) == expected


# --- edit distance -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "limit", "expected"),
    [
        ("flux", "flux", 1, 0),
        ("", "", 1, 0),
        ("", "abc", 3, 3),
        ("fluxx", "flux", 1, 1),  # insertion
        ("flux", "flax", 1, 1),  # substitution
        ("flux", "fulx", 1, 1),  # adjacent transposition counts once
        ("ab", "ba", 1, 1),
        ("kitten", "sitting", 5, 3),
        ("typografy", "typography", 2, 2),
        ("kitten", "sitting", 2, 3),  # over the limit: limit + 1
        ("", "abc", 1, 2),  # length difference alone exceeds the limit
        ("video", "vdeo", 0, 1),
    ],
)
def test_edit_distance_is_damerau_levenshtein_capped_at_limit_plus_one(a, b, limit, expected):
    assert _edit_distance(a, b, limit) == expected
    assert _edit_distance(b, a, limit) == expected


# --- ranking rules on tiny catalogs ----------------------------------------------------------


def test_a_name_match_beats_a_tag_match_which_beats_a_description_match():
    catalog = [
        model("a/one", description="an upscaler for photos"),
        model("a/two", tags=("upscaler",)),
        model("a/three", name="Crisp Upscaler"),
    ]
    assert SearchIndex(catalog).search("upscaler") == [2, 1, 0]


def test_category_and_group_count_like_tags():
    catalog = [
        model("a/one", description="speech"),
        model("a/two", group=Group(key="speech-models", label="Speech")),
        model("a/three", category="speech"),
    ]
    assert SearchIndex(catalog).search("speech") == [1, 2, 0]


def test_a_whole_word_beats_a_prefix_which_beats_a_substring():
    # The word is not first in any name, so no name gets the whole-query prefix bonus.
    catalog = [
        model("a/1", "Big Superscale"),
        model("a/2", "Big Scaler"),
        model("a/3", "Big Scale"),
    ]
    assert SearchIndex(catalog).search("scale") == [2, 1, 0]


def test_equal_scores_keep_catalog_order():
    catalog = [model(f"a/m{i}", "Same Name") for i in range(5)]
    assert SearchIndex(catalog).search("name") == [0, 1, 2, 3, 4]


def test_models_matching_every_word_come_first_and_alone_when_there_are_many():
    foxes = [model(f"a/fox{i}", f"Red Fox {i}") for i in range(FEW)]
    index = SearchIndex([model("a/hen", "Red Hen"), *foxes])
    assert index.search("red fox") == list(range(1, FEW + 1))
    assert index.complete("red fox")


def test_a_few_models_matching_every_word_are_followed_by_those_matching_some():
    catalog = [model("a/one", "Red Hen"), model("a/two", "Red Fox"), model("a/three", "Fox")]
    index = SearchIndex(catalog)
    assert index.search("red fox") == [1, 0, 2]
    assert index.complete("red fox") and index.found("red fox").answers == 1


def test_the_models_matching_some_words_are_no_answers_however_many_follow():
    hens = [model(f"a/hen{i}", f"Red Hen {i}") for i in range(FEW)]
    index = SearchIndex([*hens, model("a/fox", "Red Fox")])
    found = index.found("red fox")
    assert list(found.positions[:1]) == [FEW] and len(found.positions) == FEW + 1
    assert found.answers == 1  # the hens follow, as partial matches


def test_when_no_model_matches_every_word_the_most_of_the_query_comes_first():
    catalog = [
        model("a/one", "Fox"),  # the rarest word
        model("a/two", "Red"),
        model("a/three", "Red Hen"),
        model("a/four", "Red Fox Pup"),
        model("a/five", "Blue"),
    ]
    index = SearchIndex(catalog)
    assert index.search("red fox cub") == [3, 0, 1, 2]
    assert not index.complete("red fox cub")


def test_a_long_query_matching_no_model_whole_is_ranked_by_its_rarest_words():
    # Seven words, each in one more model than the last: the six rarest decide; a model
    # matching only the most common one is left out (a long query of common words is slow).
    words = ["w0", "w1", "w2", "w3", "w4", "w5", "w6"]
    catalog = [
        model(f"a/m{i}", " ".join(w for n, w in enumerate(words) if n >= i)) for i in range(7)
    ]
    catalog += [model(f"a/only{i}", words[6]) for i in range(3)]
    index = SearchIndex(catalog)
    assert not index.complete("w0 w1 w2 w3 w4 w5 w6 absent")
    assert index.search("w0 w1 w2 w3 w4 w5 w6 absent")[:6] == [0, 1, 2, 3, 4, 5]
    assert not {7, 8, 9} & set(index.search("w0 w1 w2 w3 w4 w5 w6 absent"))


# --- reading a query the way it was meant ---------------------------------------------------


def test_words_in_the_queried_order_rank_far_above_the_same_words_reversed():
    catalog = [
        model("a/stt", "Acme Speech to Text", description="turns speech into text"),
        model("a/tts", "Acme Text to Speech", description="turns text into speech"),
    ]
    index = SearchIndex(catalog)
    assert index.search("text to speech") == [1, 0]
    assert index.search("speech to text") == [0, 1]


def test_words_side_by_side_rank_above_the_same_words_scattered():
    catalog = [
        model("a/one", "Removal of Background Noise"),
        model("a/two", "Fast Background Removal"),
    ]
    assert SearchIndex(catalog).search("background removal") == [1, 0]


def test_filler_words_need_not_match():
    catalog = [model("a/i2v", "Clip Maker", category="image-to-video"), model("a/x", "Other")]
    assert SearchIndex(catalog).search("make a video from an image") == [0]


def test_a_query_of_filler_alone_still_searches_for_it():
    catalog = [model("a/one", "Into the Wild"), model("a/two", "Other")]
    assert SearchIndex(catalog).search("into") == [0]


@pytest.mark.parametrize(
    ("q", "name"),
    [
        ("upscaling", "Video Upscaler"),
        ("upscale", "Upscaling Pro"),
        ("transcribes", "Transcribe Anything"),
        ("removal", "Remove Background"),
    ],
)
def test_words_of_one_stem_match_each_other(q, name):
    assert SearchIndex([model("a/other", "Other"), model("a/one", name)]).search(q) == [1]


@pytest.mark.parametrize(
    ("q", "name"),
    [
        ("photo", "Image Editor"),
        ("picture", "Image Editor"),
        ("song", "Music Maker"),
        ("clip", "Video Maker"),
        ("bg", "Background Remover"),
        ("faceswap", "Face Swap"),
        ("colourise", "Colorize"),
        ("upscale", "Super Resolution"),
    ],
)
def test_another_name_of_a_thing_finds_it(q, name):
    assert SearchIndex([model("a/other", "Other"), model("a/one", name)]).search(q) == [1]


def test_the_word_as_typed_ranks_above_another_name_for_it():
    catalog = [model("a/photo", "Photo Tool"), model("a/image", "Image Tool")]
    assert SearchIndex(catalog).search("image") == [1, 0]


@pytest.mark.parametrize(
    ("q", "category"),
    [
        ("make a video from an image", "image-to-video"),
        ("3d model from a picture", "image-to-3d"),
        ("photo to 3d", "image-to-3d"),
        ("video to video", "video-to-video"),
        ("convert text to speech", "text-to-speech"),
        ("tts", "text-to-speech"),
        ("asr", "speech-to-text"),
        ("transcribe a meeting", "speech-to-text"),
        ("animate a picture", "image-to-video"),
    ],
)
def test_a_query_that_names_a_task_ranks_its_category_first(q, category):
    catalog = [
        model("a/other", "Image Video Speech Text 3d Meeting Picture"),
        model("a/task", "Plain", category=category),
    ]
    index = SearchIndex(catalog)
    assert index.intent(q) == category
    assert index.search(q)[0] == 1


@pytest.mark.parametrize("q", ["lip sync a video to audio", "image video", "upscale a photo"])
def test_media_that_are_the_object_of_another_task_name_no_category(q):
    catalog = [model("a/v2a", "Plain", category="video-to-audio")]
    assert SearchIndex(catalog).intent(q) is None


def test_a_task_the_catalog_has_no_category_for_is_no_intent():
    assert SearchIndex([model("a/one", "Plain", category="text-to-image")]).intent("tts") is None


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("cheap text to image", [("sort", "price")]),
        ("cheapest upscaler", [("sort", "price")]),
        ("image to video with audio", [("outputs", "audio")]),
        ("flux with a seed", [("has", "seed")]),
        ("video under $0.05", [("max_price", "0.05")]),
        ("cheap clip with sound below $1",
         [("sort", "price"), ("max_price", "1"), ("outputs", "audio")]),
        ("flux dev", []),
    ],
)  # fmt: skip
def test_price_and_capability_words_become_offers(q, expected):
    assert [(o.name, o.value) for o in offers(q)] == expected


def test_price_words_are_not_searched_for():
    catalog = [model("a/one", "Flux"), model("a/two", "Other")]
    index = SearchIndex(catalog)
    assert index.search("cheap flux under $0.05") == [0]
    assert index.search("cheapest") == [0, 1]  # nothing left to search: everything


def test_a_model_without_metadata_is_found_by_its_id():
    assert SearchIndex([Model(endpoint_id="owner/bare")]).search("bare") == [0]


def test_a_single_character_matches_words_and_prefixes_but_not_inside_words():
    catalog = [model("a/one", "Banana"), model("a/two", "Apple")]
    assert SearchIndex(catalog).search("n") == []
    assert SearchIndex(catalog).search("b") == [0]


def test_short_words_get_no_typo_tolerance():
    catalog = [model("a/one", "Flux"), model("a/two", "Video")]
    index = SearchIndex(catalog)
    assert index.search("vdeo") == []
    assert index.search("fulx") == []  # four letters: a transposition is not forgiven
    assert index.search("vidoe") == [1]


def test_results_are_copies_so_callers_cannot_spoil_the_memo():
    index = SearchIndex([model("a/one", "Flux"), model("a/two", "Flux Pro")])
    first = index.search("flux")
    first.clear()
    assert index.search("flux") == [0, 1]


def test_the_memo_stays_bounded():
    index = SearchIndex([model("a/one", "Flux")])
    for i in range(1000):
        index.search(f"flux {i}")
    assert len(index._memo) <= 256


def test_threads_sharing_one_index_get_the_same_answers(index):
    expected = {q: index.search(q) for q in ("flux", "kling video", "upscale", "fluxx")}
    failures = []

    def hammer():
        for _ in range(50):
            for q, result in expected.items():
                if index.search(q) != result:
                    failures.append(q)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# --- the real snapshot -----------------------------------------------------------------------


def test_flux_ranks_a_flux_named_model_above_one_that_mentions_flux_only_in_its_description(
    found,
):
    results = found("flux")
    assert results[0] == "fal-ai/flux/schnell"  # display name "FLUX.1 [schnell]"
    # ControlLight mentions FLUX.2 only in its description: the one such model comes last.
    assert results[-1] == "fal-ai/control-light"


def test_a_typo_of_five_letters_still_finds_flux_models(snapshot, index, found):
    results = found("fluxx")
    assert len(results) > 100
    assert set(results) <= set(found("flux"))
    assert all(
        "flux" in snapshot[p].metadata.display_name.casefold() for p in index.search("fluxx")[:10]
    )


def test_a_long_word_forgives_two_edits(found):
    assert found("typografy")[:3] == found("typography")[:3]
    assert "fal-ai/nano-banana-pro/edit" in found("typografy")


def test_kling_video_finds_only_models_matching_both_words(snapshot, index):
    positions = index.search("kling video")
    assert len(positions) > 20
    assert snapshot[positions[0]].metadata.display_name == "Kling Video"
    for p in positions:
        words = searchable_words(snapshot[p])
        assert any("kling" in w for w in words)
        assert any("video" in w for w in words)


@pytest.mark.parametrize(
    "endpoint_id",
    ["fal-ai/flux/dev", "fal-ai/kling-video/v3/4k/image-to-video", "fal-ai/nano-banana-2"],
)
def test_a_pasted_endpoint_id_puts_that_model_first(found, endpoint_id):
    assert found(endpoint_id)[0] == endpoint_id


def test_a_pasted_id_is_followed_by_the_ids_it_begins(found):
    assert found("fal-ai/flux/dev")[:3] == [
        "fal-ai/flux/dev",
        "fal-ai/flux/dev/image-to-image",
        "fal-ai/flux/dev/redux",
    ]


def test_a_tag_only_match_ranks_below_a_name_match(found):
    results = found("realism")
    # "FLUX 2 Lora Gallery Realism" has it in its name; Nano Banana Pro only as a tag.
    assert results.index("fal-ai/flux-2-lora-gallery/realism") < results.index(
        "fal-ai/nano-banana-pro/edit"
    )


def test_an_exact_display_name_comes_first(found):
    assert found("Lipsync")[0] == "veed/lipsync"


def test_case_accents_and_punctuation_do_not_matter(found):
    assert found("Flux.1 [Dev]") == found("flux 1 dev") == found("FLÜX-1 dév")
    assert found("Flux.1 [Dev]")[0] == "fal-ai/flux/dev"  # display name "FLUX.1 [dev]"


def test_a_word_that_matches_nothing_leaves_the_others_and_gets_a_suggestion(snapshot, index):
    # "vdeo" is too short for a typo: the upscalers answer, and the correction matches both.
    results = index.search("vdeo upscaler")
    assert results
    assert all("upscal" in " ".join(searchable_words(snapshot[p])) for p in results)
    assert not index.complete("vdeo upscaler")
    suggestion = index.suggest("vdeo upscaler")
    assert suggestion == "video upscaler"
    assert index.complete(suggestion)


def test_a_query_with_results_gets_no_suggestion(index):
    assert index.suggest("kling video") is None


def test_nonsense_gets_no_results_and_no_suggestion(index):
    assert index.search("zzzzqqq") == []
    assert index.suggest("zzzzqqq") is None


def test_words_that_each_match_but_never_together_find_either_and_get_no_suggestion(index):
    results = index.search("lipsync typography")
    assert results and not index.complete("lipsync typography")
    assert set(results) == set(index.search("lipsync")) | set(index.search("typography"))
    assert index.suggest("lipsync typography") is None


@pytest.mark.parametrize("q", ["", "   ", "!!! --"])
def test_a_query_without_words_returns_every_position_in_order(snapshot, index, q):
    assert index.search(q) == list(range(len(snapshot)))
    assert index.suggest(q) is None


# --- the judged task phrases (tests/catalog/search_judgements.json) -------------------------


def test_the_judged_task_phrases_meet_their_targets(capsys):
    present, gone = judged_catalog()
    scores = judge_search(judged_search(present, gone), present, gone, search_judgements())
    with capsys.disabled():
        print("\n" + search_scores_line(scores))
    assert scores["phrases"] >= 45
    assert scores["success_at_5"] >= 0.95, scores["misses"]
    assert scores["top_1"] >= 0.85, scores["misses"]
    assert scores["precision_at_10"] >= 0.75
    assert scores["zero_results"] == []


# --- benchmark: prints timings, asserts nothing about them (only that queries answer) ------


def test_benchmark_prints_search_timings_at_the_snapshot_and_at_100000_models(snapshot, capsys):
    lines = [*search_timings(snapshot, len(snapshot)), *search_timings(snapshot, 100_000)]
    with capsys.disabled():
        print("\n" + "\n".join(lines))
