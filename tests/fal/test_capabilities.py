"""The capability rule table against real fal documents (recorded and reconstructed).

Each row of TABLE was checked by hand against the document's input and output fields
(names, types, $ref'd schemas, enums and maxima); a rule change that moves any of them
fails here. `fal-ai/sam-audio/*` outputs `target`/`residual` Files whose names do not say
they are audio: the rules do not guess, so those rows list no output.
"""

from __future__ import annotations

from collections import Counter

import pytest

from fal.capabilities import (
    ACCEPTS,
    HAS,
    OUTPUTS,
    RULES_VERSION,
    Capabilities,
    capabilities,
    capabilities_json,
    is_current,
)
from fal.openapi import reconstructed_source
from fal_emulator import load_snapshot


@pytest.fixture(scope="module")
def snapshot():
    return load_snapshot()


@pytest.fixture(scope="module")
def documents(snapshot):
    return snapshot[1]


def document(inputs: dict | None = None, outputs: dict | None = None, **schemas: dict) -> dict:
    """A queue document whose XInput and XOutput schemas have these properties."""
    components = {"XInput": {"properties": inputs or {}}, "XOutput": {"properties": outputs or {}}}
    return {"openapi": "3.0.4", "paths": {}, "components": {"schemas": {**components, **schemas}}}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


# (endpoint id, accepts, has, outputs, most outputs per call, longest duration in seconds)
TABLE = [
    # 3d-to-3d
    ("fal-ai/hunyuan-3d/v3.1/smart-topology", "", "", "3d", None, None),
    # 3d-to-3d
    ("fal-ai/sam-3/3d-align", "image mask", "", "3d", None, None),
    # audio-to-audio
    ("fal-ai/sam-audio/span-separate", "audio", "", "", None, None),
    # audio-to-audio
    ("fal-ai/workflow-utilities/impulse-response", "audio", "", "audio", None, None),
    # audio-to-audio
    ("fal-ai/personaplex", "audio", "seed", "audio text", None, None),
    # audio-to-audio
    ("fal-ai/personaplex/realtime", "audio", "seed", "audio text", None, None),
    # audio-to-text
    ("nvidia/nemotron-3-nano-omni/audio", "audio", "", "text", None, None),
    # audio-to-video
    (
        "fal-ai/ltx-2.3-22b/audio-to-video",
        "audio end_image image",
        "fps guidance negative_prompt prompt_expansion safety_checker seed size steps sync_mode",
        "video",
        None,
        None,
    ),
    # audio-to-video
    (
        "fal-ai/ltx-2.3-22b/distilled/audio-to-video",
        "audio end_image image",
        "fps negative_prompt prompt_expansion safety_checker seed size sync_mode",
        "video",
        None,
        None,
    ),
    # image-to-3d
    ("tripo3d/tripo/v2.5/image-to-3d", "image", "seed", "3d image", None, None),
    # image-to-3d
    ("fal-ai/meshy/v6/image-to-3d", "image", "safety_checker", "3d", None, None),
    # image-to-image
    ("fal-ai/image-preprocessors/mlsd", "image", "", "image", None, None),
    # image-to-image
    ("fal-ai/florence-2-large/caption-to-phrase-grounding", "image", "", "image", None, None),
    # image-to-image
    ("fal-ai/flux-pro/v1/vto", "image", "seed steps sync_mode", "image", None, None),
    # image-to-image
    (
        "fal-ai/clarity-upscaler",
        "image",
        "guidance negative_prompt safety_checker seed steps",
        "image",
        None,
        None,
    ),
    # image-to-json
    ("fal-ai/bagel/understand", "image", "seed", "text", None, None),
    # image-to-text
    ("nvidia/nemotron-3-nano-omni/vision", "image", "", "text", None, None),
    # image-to-video
    (
        "fal-ai/wan-i2v-lora",
        "image lora",
        "fps guidance negative_prompt prompt_expansion resolution safety_checker seed size steps",
        "video",
        None,
        None,
    ),
    # image-to-video
    (
        "fal-ai/kling-video/v2.5-turbo/pro/image-to-video",
        "end_image image",
        "duration guidance negative_prompt",
        "video",
        None,
        10,
    ),
    # image-to-video
    (
        "fal-ai/pixverse/v5.5/image-to-video",
        "image",
        "duration negative_prompt resolution seed",
        "video",
        None,
        10,
    ),
    # image-to-video
    (
        "fal-ai/wan/v2.2-a14b/image-to-video/turbo",
        "end_image image",
        "prompt_expansion resolution safety_checker seed size",
        "video",
        None,
        None,
    ),
    # json
    ("fal-ai/ffmpeg-api/metadata", "", "", "audio video", None, None),
    # json
    ("fal-ai/ffmpeg-api/waveform", "", "", "", None, None),
    # llm
    ("nvidia/nemotron-3-nano-omni", "", "", "text", None, None),
    # llm
    ("openrouter/router/openai/v1/responses", "", "", "", None, None),
    # speech-to-speech
    ("resemble-ai/chatterboxhd/speech-to-speech", "audio", "", "audio", None, None),
    # speech-to-text
    ("fal-ai/elevenlabs/speech-to-text", "audio", "", "text", None, None),
    # speech-to-text
    ("fal-ai/speech-to-text", "audio", "", "text", None, None),
    # text-to-3d
    ("fal-ai/hyper3d/rodin/v2.5/text-to-3d", "", "seed", "3d image", None, None),
    # text-to-3d
    ("fal-ai/hunyuan-motion", "", "duration guidance seed", "3d", None, 12),
    # text-to-audio
    (
        "fal-ai/stable-audio-3/small/music/base/text-to-audio",
        "",
        "duration guidance negative_prompt prompt_expansion safety_checker seed steps sync_mode",
        "audio",
        None,
        120,
    ),
    # text-to-audio
    ("fal-ai/kokoro/brazilian-portuguese", "", "", "audio", None, None),
    # text-to-audio
    (
        "fal-ai/stable-audio-3/small/sfx/base/text-to-audio",
        "",
        "duration guidance negative_prompt prompt_expansion safety_checker seed steps sync_mode",
        "audio",
        None,
        120,
    ),
    # text-to-audio
    ("fal-ai/diffrhythm", "audio", "duration guidance steps", "audio", None, 285),
    # text-to-image
    (
        "fal-ai/z-image/turbo/tiling/lora",
        "image lora mask",
        "num_outputs prompt_expansion safety_checker seed size steps sync_mode",
        "image",
        4,
        None,
    ),
    # text-to-image
    (
        "fal-ai/stable-diffusion-v35-medium",
        "",
        "guidance negative_prompt num_outputs safety_checker seed size steps sync_mode",
        "image",
        4,
        None,
    ),
    # text-to-image
    (
        "fal-ai/nucleus-image",
        "",
        "guidance negative_prompt num_outputs safety_checker seed size steps sync_mode",
        "image",
        2,
        None,
    ),
    # text-to-image
    (
        "fal-ai/fooocus/upscale-or-vary",
        "image lora",
        "guidance negative_prompt num_outputs safety_checker seed size sync_mode",
        "image",
        4,
        None,
    ),
    # text-to-json
    ("bria/fibo-lite/generate/structured_prompt", "image", "seed", "", None, None),
    # text-to-speech
    ("fal-ai/orpheus-tts", "", "", "audio", None, None),
    # text-to-speech
    ("fal-ai/gemini-3.1-flash-tts", "", "", "audio", None, None),
    # text-to-video
    ("fal-ai/vidu/q3/text-to-video", "", "duration resolution seed size", "video", None, 16),
    # text-to-video
    ("fal-ai/magi-distilled", "", "resolution safety_checker seed size steps", "video", None, None),
    # text-to-video
    (
        "fal-ai/ltx-2.3-22b/text-to-video/lora",
        "lora",
        "fps guidance negative_prompt prompt_expansion safety_checker seed size steps sync_mode",
        "video",
        None,
        None,
    ),
    # text-to-video
    (
        "fal-ai/ltx-2.3-quality/text-to-video/lora",
        "lora",
        "fps guidance negative_prompt prompt_expansion "
        "resolution safety_checker seed steps sync_mode",
        "video",
        None,
        None,
    ),
    # training
    ("fal-ai/flux-2-trainer/edit", "image images", "steps", "", None, None),
    # training
    ("fal-ai/z-image-trainer", "image images", "steps", "", None, None),
    # unknown
    ("fal-ai/workflow-utilities/interleave-video", "video", "fps", "video", None, None),
    # video-to-audio
    ("fal-ai/sam-audio/visual-separate", "mask video", "", "", None, None),
    # video-to-text
    ("nvidia/nemotron-3-nano-omni/video", "video", "", "text", None, None),
    # video-to-video
    ("fal-ai/workflow-utilities/scale-video", "video", "", "video", None, None),
    # video-to-video
    (
        "fal-ai/wan-22-vace-fun-a14b/inpainting",
        "end_image image images mask reference_images video",
        "fps guidance negative_prompt prompt_expansion resolution "
        "safety_checker seed size steps sync_mode",
        "video",
        None,
        None,
    ),
    # video-to-video
    (
        "fal-ai/wan-22-vace-fun-a14b/outpainting",
        "end_image image images reference_images video",
        "fps guidance negative_prompt prompt_expansion resolution "
        "safety_checker seed size steps sync_mode",
        "video",
        None,
        None,
    ),
    # video-to-video
    (
        "fal-ai/one-to-all-animation/1.3b",
        "image video",
        "negative_prompt resolution steps",
        "video",
        None,
        None,
    ),
    # vision
    ("fal-ai/moondream2", "image", "", "text", None, None),
    # vision
    ("fal-ai/got-ocr/v2", "image images", "", "text", None, None),
    # workflow
    ("fal-ai/workflow-utilities/pick-image-by-index", "image images", "", "image", None, None),
    # text-to-image
    (
        "fal-ai/flux/dev",
        "",
        "guidance num_outputs safety_checker seed size steps sync_mode",
        "image",
        4,
        None,
    ),
    # image-to-video
    (
        "fal-ai/kling-video/v2.1/pro/image-to-video",
        "end_image image",
        "duration guidance negative_prompt",
        "video",
        None,
        10,
    ),
    # text-to-image
    (
        "fal-ai/flux-lora",
        "lora",
        "guidance num_outputs safety_checker seed size steps sync_mode",
        "image",
        4,
        None,
    ),
    # image-to-image
    (
        "fal-ai/lora/image-to-image",
        "control image lora",
        "guidance negative_prompt num_outputs safety_checker seed steps",
        "image",
        8,
        None,
    ),
    # image-to-image
    (
        "imagineart/imagineart-2.0-edit-preview/image-to-image",
        "image images",
        "size",
        "image",
        None,
        None,
    ),
    # image-to-image
    (
        "fal-ai/fast-lcm-diffusion/inpainting",
        "image mask",
        "guidance negative_prompt num_outputs prompt_expansion "
        "safety_checker seed size steps sync_mode",
        "image",
        8,
        None,
    ),
    # image-to-image
    (
        "fal-ai/bytedance/seedream/v4/edit",
        "image images",
        "num_outputs safety_checker seed size sync_mode",
        "image",
        6,
        None,
    ),
    # image-to-image
    (
        "fal-ai/ideogram/v2/edit",
        "image mask",
        "prompt_expansion seed sync_mode",
        "image",
        None,
        None,
    ),
    # image-to-image
    (
        "fal-ai/flux-2-lora-gallery/apartment-staging",
        "image images",
        "guidance num_outputs safety_checker seed size steps sync_mode",
        "image",
        4,
        None,
    ),
    # image-to-image
    (
        "fal-ai/flux-pro/v1/fill",
        "image mask",
        "num_outputs prompt_expansion safety_checker seed sync_mode",
        "image",
        4,
        None,
    ),
    # image-to-image
    (
        "microsoft/mai-image-2.5/edit",
        "image images",
        "num_outputs size sync_mode",
        "image text",
        4,
        None,
    ),
]


def test_the_table_covers_at_least_fifty_documents_across_categories(snapshot, documents):
    models, _ = snapshot
    category = {m["endpoint_id"]: (m.get("metadata") or {}).get("category") for m in models}
    ids = [row[0] for row in TABLE]
    assert len(set(ids)) == len(ids) >= 50
    assert len({category[i] for i in ids}) >= 20
    assert sum(1 for i in ids if reconstructed_source(documents[i])) >= 10


@pytest.mark.parametrize(
    ("endpoint_id", "accepts", "has", "outputs", "max_outputs", "max_duration"),
    TABLE,
    ids=[row[0] for row in TABLE],
)
def test_capabilities_of_a_real_document(
    documents, endpoint_id, accepts, has, outputs, max_outputs, max_duration
):
    found = capabilities(documents[endpoint_id])
    assert found == Capabilities(
        accepts=frozenset(accepts.split()),
        has=frozenset(has.split()),
        outputs=frozenset(outputs.split()),
        max_outputs=max_outputs,
        max_duration=float(max_duration) if max_duration is not None else None,
    )


def test_every_value_the_rules_give_is_a_known_value(documents):
    for document in documents.values():
        found = capabilities(document)
        assert found.accepts <= ACCEPTS.keys()
        assert found.has <= HAS.keys()
        assert found.outputs <= OUTPUTS.keys()


def test_offline_coverage_and_how_many_models_have_each_capability(snapshot, documents):
    """The numbers the catalog shows offline (also in the report of issue 13)."""
    models, _ = snapshot
    found = [capabilities(documents.get(m["endpoint_id"])) for m in models]
    assert len(models) == 1434
    assert sum(1 for f in found if f is None) == 145  # schema unknown
    counts = Counter()
    for f in found:
        if f is not None:
            counts.update(f"accepts:{v}" for v in f.accepts)
            counts.update(f"has:{v}" for v in f.has)
            counts.update(f"outputs:{v}" for v in f.outputs)
    assert counts["has:seed"] == 749
    assert counts["accepts:end_image"] == 92
    assert counts["outputs:video"] == 468
    assert counts["outputs:image"] == 569


def test_no_document_is_schema_unknown_and_an_error_object_too():
    assert capabilities(None) is None
    error = {"error": {"code": "expansion_failed", "message": "OpenAPI schema not available"}}
    assert capabilities(error) is None
    assert capabilities_json(error) == {"version": RULES_VERSION, "unknown": True}


def test_a_document_whose_fields_cannot_be_read_is_known_but_says_nothing():
    assert capabilities({"openapi": "3.0.4", "paths": {}}) == Capabilities()


@pytest.mark.parametrize(
    "junk", [[], "x", 3, {"components": {"schemas": {"XInput": {"properties": 5}}}}, {"paths": []}]
)
def test_malformed_documents_never_raise(junk):
    capabilities(junk)


def test_stored_capabilities_round_trip_and_older_rules_are_stale(documents):
    found = capabilities(documents["fal-ai/flux-lora"])
    stored = found.to_json()
    assert is_current(stored) and Capabilities.from_json(stored) == found
    older = {**stored, "version": RULES_VERSION - 1}
    assert not is_current(older) and Capabilities.from_json(older) is None
    assert not is_current(None)


def test_an_enum_named_like_a_lora_is_not_a_lora_upload(documents):
    # LTX's camera_lora is a choice of camera motions, not LoRA weights.
    fields = documents["fal-ai/ltx-2.3-22b/distilled/audio-to-video"]
    assert "lora" not in capabilities(fields).accepts


def test_the_start_and_end_image_question(documents):
    """'Which video models take a start and an end image and let me fix the seed?'"""
    hits = [
        i
        for i, d in documents.items()
        if (c := capabilities(d))
        and {"image", "end_image"} <= c.accepts
        and "seed" in c.has
        and "video" in c.outputs
    ]
    assert "fal-ai/wan/v2.2-a14b/image-to-video/turbo" in hits
    # Kling 2.1 takes a tail image but has no seed.
    assert "fal-ai/kling-video/v2.1/pro/image-to-video" not in hits


@pytest.mark.parametrize(
    ("prop", "accepts_lora"),
    [
        ({"type": "array", "items": {"type": "object"}}, True),
        ({"type": "string"}, True),
        ({"type": "number"}, False),
        ({"type": "integer"}, False),
        ({"type": "boolean"}, False),
    ],
)
def test_a_field_named_like_loras_takes_lora_weights_unless_a_number_or_a_switch(
    prop, accepts_lora
):
    assert ("lora" in capabilities(document({"loras": prop})).accepts) == accepts_lora


def test_a_field_whose_schema_names_an_image_is_an_image_upload_whatever_its_name():
    def document(ref: str) -> dict:
        schemas = {
            "SubjectInput": {"properties": {"subject": {"$ref": f"#/components/schemas/{ref}"}}},
            ref: {"properties": {"url": {"type": "string"}}},
        }
        return {"openapi": "3.0.4", "paths": {}, "components": {"schemas": schemas}}

    assert capabilities(document("ImageFile")).accepts == {"image"}
    assert capabilities(document("File")).accepts == set()  # a file, but of no known kind


@pytest.mark.parametrize(
    ("prop", "accepts"),
    [
        ({"type": "string", "x-fal": {"max_fps": 60}}, {"video"}),
        ({"type": "string", "x-fal": {"min_fps": 1}}, {"video"}),
        ({"type": "string", "x-fal": {"min_width": 256}}, {"image"}),
        ({"type": "string", "x-fal": {"max_aspect_ratio": 2.5}}, {"image"}),
        ({"anyOf": [{"type": "string", "x-fal": {"max_fps": 30}}, {"type": "null"}]}, {"video"}),
        ({"type": "string", "x-fal": {"max_file_size": 10_000_000}}, set()),
        ({"type": "string"}, set()),
    ],
)
def test_an_upload_named_for_no_kind_takes_its_kind_from_fals_limits(prop, accepts):
    # fal's x-fal limits say what a file is when its name does not: frame rates for a
    # video, a width or an aspect ratio for an image.
    assert capabilities(document({"source_url": prop})).accepts == accepts


# --- What mutation testing found untested ------------------------------------------------------


def test_a_property_that_is_not_a_schema_is_skipped_not_a_crash():
    found = capabilities(document({"prompt": "junk", "image_url": {"type": "string"}}))
    assert found.accepts == {"image"}


def test_a_lora_or_an_image_behind_an_alias_schema_still_counts():
    # Adapters and Results are arrays of LoraWeight and Image: the kind is one $ref further.
    lora_weight = {"properties": {"path": {"type": "string"}}}
    found = capabilities(
        document(
            {"adapter": ref("Adapters")},
            {"result": ref("Results")},
            Adapters={"type": "array", "items": ref("LoraWeight")},
            LoraWeight=lora_weight,
            Results={"type": "array", "items": ref("Image")},
            Image={"properties": {"url": {"type": "string"}}},
        )
    )
    assert found.accepts == {"lora"}
    assert found.outputs == {"image"}


def test_a_lora_schema_counts_whatever_the_field_is_called_unless_it_is_a_controlnet():
    weights = {"properties": {"path": {"type": "string"}}}
    adapters = {"adapters": {"type": "array", "items": ref("LoraWeight")}}
    assert capabilities(document(adapters, LoraWeight=weights)).accepts == {"lora"}
    both = {"adapters": {"anyOf": [ref("LoraWeight"), ref("ControlLoraWeight")]}}
    found = capabilities(document(both, LoraWeight=weights, ControlLoraWeight=weights))
    assert found.accepts == {"control"}


@pytest.mark.parametrize(
    ("inputs", "accepts"),
    [
        # The fields after a ControlNet or a LoRA field still count.
        ({"control_image_url": {"type": "string"}, "image_url": {"type": "string"}},
         {"control", "image"}),
        ({"loras": {"type": "array", "items": {"type": "object"}}, "mask_url": {"type": "string"}},
         {"lora", "mask"}),
        # A URL name alone is not enough: it must hold a string or a list of them.
        ({"image_url": {"type": "integer"}}, set()),
        # A text field that mentions images is not an upload.
        ({"image_description": {"type": "string"}}, set()),
        # Without a URL-like name, the format or fal's media hints say it is a file.
        ({"start_image": {"type": "string", "format": "uri"}}, {"image"}),
        ({"audio": {"type": "string", "format": "binary"}}, {"audio"}),
        ({"start_frame": {"type": "string", "x-fal": {"max_file_size": 10_000_000}}}, {"image"}),
        ({"start_frame": {"type": "string", "format": "date-time"}}, set()),
    ],
)  # fmt: skip
def test_which_fields_are_uploads_of_which_kind(inputs, accepts):
    assert capabilities(document(inputs)).accepts == accepts


def test_a_knob_is_a_scalar_or_a_choice_never_an_object_or_a_list():
    number_or_integer = {"anyOf": [{"type": "number"}, {"type": "integer"}]}
    assert capabilities(document({"seed": number_or_integer})).has == {"seed"}
    assert capabilities(document({"seed": {"type": "object"}})).has == set()
    assert capabilities(document({"seed": {"type": "array", "items": {}}})).has == set()


def test_a_switch_among_the_choices_is_not_a_number():
    found = capabilities(document({"num_images": {"enum": [True, 2, 4]}}))
    assert found.max_outputs == 4


@pytest.mark.parametrize(
    ("outputs", "found"),
    [
        ({"images": {"type": "array", "items": {"type": "string"}}}, {"image"}),
        ({"video": {"type": "string"}}, {"video"}),
        ({"video": {"type": "integer"}}, set()),  # a number named video is not one
        ({"results": {"type": "array", "items": {"type": "string"}}}, {"text"}),
    ],
)
def test_an_output_is_named_for_its_kind_and_holds_urls(outputs, found):
    assert capabilities(document(outputs=outputs)).outputs == found


def test_stored_limits_round_trip_and_stored_junk_reads_as_nothing():
    found = Capabilities(accepts=frozenset({"image"}), max_outputs=4, max_duration=10.0)
    assert Capabilities.from_json(found.to_json()) == found
    junk = {"version": RULES_VERSION, "accepts": "image", "max_outputs": "4", "max_duration": True}
    assert Capabilities.from_json(junk) == Capabilities()
    assert Capabilities.from_json({"version": RULES_VERSION}) == Capabilities()
