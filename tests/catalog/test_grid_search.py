"""The grid's search as a person reads it: the task a query names ranked first and offered
as a filter, removed models found with `status=all` (and hinted otherwise), price and
capability words offered but never applied, and "did you mean" only when it helps."""

from __future__ import annotations

from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from catalog import upstream
from catalog.sync import CrawlFacts, sync_catalog
from fal_emulator import Emulator, load_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def snapshot():
    return load_snapshot()


def shown(response) -> list[str]:
    return [card.endpoint_id for card in response.context["cards"]]


def notes(response) -> dict[str, dict[str, list[str]]]:
    """Each search note's link text → the query its link asks for."""
    return {
        note.link: parse_qs(urlsplit(note.url).query) for note in response.context["search_notes"]
    }


def sync(snapshot, *extra: dict, days_ago: float):
    with upstream.offline_source(Emulator([*snapshot[0], *extra], snapshot[1])):
        run = sync_catalog(
            trigger="test", facts=CrawlFacts(as_of=timezone.now() - timedelta(days=days_ago))
        )
    assert run.state == "succeeded", run.error


def test_a_task_phrase_ranks_its_category_first_and_offers_it_as_a_filter(member_client):
    response = member_client.get("/", {"q": "make a video from an image"})
    first = response.context["grid"].models[:10]
    assert [m.metadata.category for m in first] == ["image-to-video"] * 10
    link = notes(response)["filter to it"]
    assert link == {"q": ["make a video from an image"], "category": ["image-to-video"]}
    page = response.content.decode()
    assert "Showing image-to-video first —" in page
    filtered = member_client.get("/", {k: v[0] for k, v in link.items()})
    assert {m.metadata.category for m in filtered.context["grid"].models} == {"image-to-video"}
    assert "filter to it" not in notes(filtered)  # already a filter: nothing to offer


def test_text_to_speech_is_not_speech_to_text(member_client):
    for q, category in [("text to speech", "text-to-speech"), ("speech to text", "speech-to-text")]:
        models = member_client.get("/", {"q": q}).context["grid"].models
        assert models[0].metadata.category == category


def test_a_removed_model_is_found_with_status_all_and_hinted_otherwise(member_client, snapshot):
    vanished = {"endpoint_id": "acme/vanishing-act/text-to-video", "metadata": {
        "display_name": "Vanishing Act", "category": "text-to-video", "status": "active"},
    }  # fmt: skip
    sync(snapshot, vanished, days_ago=20)
    sync(snapshot, days_ago=1)  # a full crawl without it: gone

    default = member_client.get("/", {"q": "vanishing"})
    assert shown(default) == []
    assert notes(default)["show them"] == {"q": ["vanishing"], "status": ["all"]}
    text = "No model in fal's catalog matches every word; 1 removed model does —"
    assert text in unescape(default.content.decode())
    assert default.context["suggestion"] is None
    # A task many present models answer is not hinted at for the removed ones among them.
    assert "show them" not in notes(member_client.get("/", {"q": "vanishing text to video"}))

    everything = member_client.get("/", {"q": "vanishing act", "status": "all"})
    assert shown(everything)[0] == "acme/vanishing-act/text-to-video"
    assert everything.context["cards"][0].status == "gone"
    assert everything.context["cards"][0].gone_since is not None
    assert "gone from fal since" in everything.content.decode()  # the card says so
    assert "show them" not in notes(everything)
    gone = member_client.get("/", {"q": "vanishing", "status": "gone"})
    assert shown(gone) == ["acme/vanishing-act/text-to-video"]
    # Without a query, status=gone lists what left fal's catalog; the default never shows it.
    assert "acme/vanishing-act/text-to-video" in shown(member_client.get("/?status=gone"))
    assert all(
        m.endpoint_id != vanished["endpoint_id"]
        for m in member_client.get("/").context["grid"].models
    )


def gone_facet(response) -> int:
    return {o.value: o.count for o in response.context["grid"].facets["status"]}.get("gone", 0)


def test_removed_models_count_only_where_they_match_every_word(member_client, snapshot):
    removed = [
        {"endpoint_id": endpoint_id, "metadata": {
            "display_name": name, "category": category, "status": "active"}}
        for endpoint_id, name, category in [
            ("acme/vanishing-act-2/text-to-video", "Vanishing Act 2", "text-to-video"),
            ("acme/classic/video-upscaler", "Classic Video Upscaler", "video-to-video"),
            ("acme/old-thing/video", "Old Thing Video", "text-to-video"),  # "video" alone
        ]
    ]  # fmt: skip
    sync(snapshot, *removed, days_ago=20)
    sync(snapshot, days_ago=1)  # a full crawl without them: gone

    # "vanishing 2": no present model has both words, so the grid lists those matching
    # "2"; the note says that only a removed model matches every word, and counts it alone.
    response = member_client.get("/", {"q": "vanishing 2"})
    assert response.context["grid"].total > 0
    assert "No model in fal's catalog matches every word; 1 removed model does —" in (
        unescape(response.content.decode())
    )
    assert notes(response)["show them"] == {"q": ["vanishing 2"], "status": ["all"]}
    # "upscale video": enough present models match both words, so the removed one that
    # does counts, and the one matching "video" alone is no answer at all.
    response = member_client.get("/", {"q": "upscale video", "status": "all"})
    assert response.context["grid"].total >= 10
    assert gone_facet(response) == 1
    gone = member_client.get("/", {"q": "upscale video", "status": "gone"})
    assert shown(gone) == ["acme/classic/video-upscaler"]


def test_price_and_capability_words_are_offered_never_applied(member_client):
    response = member_client.get("/", {"q": "cheap image to video with audio under $0.05"})
    query = response.context["query"]
    assert query.sort == "default" and query.outputs == () and query.max_price is None
    offered = notes(response)
    assert offered["Sort by price, cheapest first"]["sort"] == ["price"]
    assert offered["Only models that output audio"]["outputs"] == ["audio"]
    assert offered["At most $0.05 for a typical job"]["max_price"] == ["0.05"]
    assert response.context["grid"].models[0].metadata.category == "image-to-video"
    sorted_by_price = member_client.get("/", {"q": "cheap flux", "sort": "price"})
    assert "Sort by price, cheapest first" not in notes(sorted_by_price)


def test_did_you_mean_only_when_the_correction_matches_every_word(member_client):
    typo = member_client.get("/", {"q": "vdeo upscaler"})
    assert typo.context["grid"].total  # the upscalers, while the typo matches nothing
    assert notes(typo)["video upscaler"] == {"q": ["video upscaler"]}
    assert "Did you mean" in typo.content.decode()
    assert member_client.get("/", {"q": "kling video"}).context["suggestion"] is None
