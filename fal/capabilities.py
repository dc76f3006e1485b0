"""What a model can do, read from its OpenAPI document by one rule table.

No Django here. `capabilities(openapi)` reads the top-level input and output fields of a
fal queue document (`fal.openapi`: names, types, `$ref`'d schema names such as Image,
File or LoraWeight, `format`, and fal's `x-fal` media hints) and answers what the model
accepts, which knobs it has, what it outputs, and the limits the schema states. It never
guesses: a field counts only when a rule below matches it, and a model without a
document has no `Capabilities` at all ("schema unknown", `None`).

Change a rule, bump `RULES_VERSION`: rows stored with an older version are recomputed by
the next sync.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fal.openapi import (
    JSONObject,
    SchemaField,
    model_schema,
    raw_properties,
    referenced_names,
)

RULES_VERSION = 1

# value → label, in the order the rail and the chips show them.
ACCEPTS = {
    "image": "image",
    "images": "several images",
    "end_image": "end image",
    "reference_images": "reference images",
    "mask": "mask",
    "video": "video",
    "audio": "audio",
    "lora": "LoRA",
    "control": "control (ControlNet…)",
}
HAS = {
    "seed": "seed",
    "negative_prompt": "negative prompt",
    "guidance": "guidance scale",
    "steps": "steps",
    "num_outputs": "number of outputs",
    "size": "aspect ratio / size",
    "resolution": "resolution",
    "duration": "duration",
    "fps": "fps",
    "safety_checker": "safety checker",
    "sync_mode": "sync mode",
    "prompt_expansion": "prompt expansion",
}
OUTPUTS = {"image": "image", "video": "video", "audio": "audio", "3d": "3D", "text": "text"}


@dataclass(frozen=True)
class Capabilities:
    accepts: frozenset[str] = frozenset()
    has: frozenset[str] = frozenset()
    outputs: frozenset[str] = frozenset()
    max_outputs: int | None = None  # the most outputs one call can ask for
    max_duration: float | None = None  # the longest duration (seconds) one call can ask for

    def to_json(self) -> dict[str, Any]:
        return {
            "version": RULES_VERSION,
            "accepts": sorted(self.accepts),
            "has": sorted(self.has),
            "outputs": sorted(self.outputs),
            "max_outputs": self.max_outputs,
            "max_duration": self.max_duration,
        }

    @classmethod
    def from_json(cls, data: Any) -> Capabilities | None:
        """Read `to_json`'s form back; None for "schema unknown" and anything else
        (including older rules)."""
        if not is_current(data) or data.get("unknown"):
            return None

        def values(key: str, known: dict[str, str]) -> frozenset[str]:
            raw = data.get(key)
            return frozenset(v for v in raw if v in known) if isinstance(raw, list) else frozenset()

        def number(key: str) -> Any:
            value = data.get(key)
            return value if isinstance(value, int | float) and not isinstance(value, bool) else None

        return cls(
            accepts=values("accepts", ACCEPTS),
            has=values("has", HAS),
            outputs=values("outputs", OUTPUTS),
            max_outputs=number("max_outputs"),
            max_duration=number("max_duration"),
        )


def capabilities_json(openapi: Any) -> dict[str, Any]:
    """What the index stores for one endpoint: `to_json`, or the rules version and
    "schema unknown" when there is no document."""
    found = capabilities(openapi)
    return found.to_json() if found is not None else {"version": RULES_VERSION, "unknown": True}


def is_current(data: Any) -> bool:
    """Whether stored capabilities were computed by these rules (else: recompute)."""
    return isinstance(data, dict) and data.get("version") == RULES_VERSION


# --- The rule table --------------------------------------------------------------------------
# Inputs that set a knob: capability → field names (whole names). A field with these names
# counts only when its type is a scalar or an enum (never an upload or an object).
HAS_RULES: dict[str, tuple[str, ...]] = {
    "seed": ("seed",),
    "negative_prompt": ("negative_prompt",),
    "guidance": (
        "guidance_scale", "cfg_scale", "guidance", "cfg", "true_cfg", "guide_scale",
        "cfg_strength", "video_cfg_scale",
    ),
    "steps": ("num_inference_steps", "steps", "number_of_steps", "num_steps", "steps_num"),
    "num_outputs": (
        "num_images", "num_outputs", "num_videos", "num_samples", "num_results",
        "number_of_images",
    ),
    "size": ("aspect_ratio", "image_size", "video_size"),
    "resolution": ("resolution",),
    "duration": ("duration", "duration_seconds", "music_duration"),
    "fps": ("fps", "frames_per_second", "frame_rate", "output_fps", "target_fps"),
    "safety_checker": (
        "enable_safety_checker", "enable_safety_checks", "enable_output_safety_checker",
        "safety_tolerance",
    ),
    "sync_mode": ("sync_mode",),
    "prompt_expansion": (
        "enable_prompt_expansion", "expand_prompt", "enhance_prompt", "prompt_expansion",
        "prompt_enhancement", "prompt_optimizer",
    ),
}  # fmt: skip
_SCALARS = ("string", "integer", "number", "boolean", "enum")

# Uploads: a field is one when its name ends like a URL, it refers to a file-like schema,
# its format is uri/binary, or it carries fal's `x-fal` media hints. What it holds comes
# from the name's words (then the referenced schema's name, then the hints).
_UPLOAD_SUFFIXES = ("_url", "_urls", "_uri", "_data_url")
_FILE_SCHEMA = re.compile(r"image|video|audio|file", re.IGNORECASE)
_LORA_SCHEMA = re.compile(r"lora", re.IGNORECASE)
_CONTROL_SCHEMA = re.compile(r"control", re.IGNORECASE)
_END_WORDS = ("end_image", "last_frame", "tail_image", "last_image", "end_frame")
_REFERENCE_WORDS = ("reference", "ref")
_MASK_WORDS = ("mask",)
_VIDEO_WORDS = ("video",)
_AUDIO_WORDS = ("audio", "voice", "speech", "music", "song")
_IMAGE_WORDS = ("image", "images", "img", "frame", "photo", "face", "picture", "portrait")
_LORA_NAMES = re.compile(r"(.+_)?loras?(_url|_urls|_path)?")
_CONTROL_NAMES = re.compile(r"control(net)?s?(_.+)?|controlnet_unions|easycontrols")

# Outputs: the words of an output field's name, or its schema's name, say what it is.
_OUTPUT_SKIP = ("thumbnail", "preview", "debug", "viz", "visualization", "input", "latents")
_OUTPUT_WORDS = {
    "image": ("image", "images", "mask", "masks", "depth_map", "normal_map", "textures"),
    "video": ("video", "videos"),
    "audio": ("audio", "audios", "vocals", "drums", "bass", "guitar", "piano", "speech"),
    "3d": ("glb", "fbx", "obj", "mesh", "meshes", "ply", "splat", "splats", "model_urls", "usdz"),
}
_OUTPUT_SCHEMAS = {
    "image": re.compile(r"image", re.IGNORECASE),
    "video": re.compile(r"video", re.IGNORECASE),
    "audio": re.compile(r"audio", re.IGNORECASE),
    "3d": re.compile(r"modelurls|mesh|glb", re.IGNORECASE),
}
_TEXT_OUTPUTS = (
    "output", "outputs", "text", "generated_text", "caption", "transcription",
    "description", "text_output", "answer", "response", "content", "results",
)  # fmt: skip


def _has_word(name: str, words: tuple[str, ...]) -> bool:
    """Whether `name` contains one of `words` as a whole word or `_`-joined run of words."""
    lowered = f"_{name.lower()}_"
    return any(f"_{w}_" in lowered or f"_{w}s_" in lowered for w in words)


def _is_scalar(field: SchemaField) -> bool:
    return bool(field.enum) or field.type in _SCALARS or field.type == "number | integer"


def _hints(prop: JSONObject) -> JSONObject:
    hints = prop.get("x-fal")
    for branch in prop.get("anyOf") or ():
        if isinstance(branch, dict) and isinstance(branch.get("x-fal"), dict):
            hints = hints or branch["x-fal"]
    return hints if isinstance(hints, dict) else {}


def _is_upload(field: SchemaField, prop: JSONObject, refs: tuple[str, ...]) -> bool:
    if field.enum:
        return False
    name = field.name.lower()
    if name.endswith(_UPLOAD_SUFFIXES) and field.type in ("string", "array<string>"):
        return True
    if any(_FILE_SCHEMA.search(r) for r in refs):
        return True
    return prop.get("format") in ("uri", "binary") or bool(_hints(prop))


def _upload_kinds(field: SchemaField, prop: JSONObject, refs: tuple[str, ...]) -> set[str]:
    name = field.name
    kinds: set[str] = set()
    if _has_word(name, _MASK_WORDS):
        return {"mask"}
    if _has_word(name, _VIDEO_WORDS):
        kinds.add("video")
    elif _has_word(name, _AUDIO_WORDS):
        kinds.add("audio")
    elif _has_word(name, _IMAGE_WORDS) or any("image" in r.lower() for r in refs):
        kinds.add("image")
    else:
        hints = _hints(prop)
        if "max_fps" in hints or "min_fps" in hints:
            kinds.add("video")
        elif "min_width" in hints or "max_aspect_ratio" in hints:
            kinds.add("image")
    if "image" in kinds:
        if any(word in name.lower() for word in _END_WORDS):
            kinds.add("end_image")
        if _has_word(name, _REFERENCE_WORDS):
            kinds.add("reference_images")
        # A list, or a `*_data_url` (fal's name for a zip archive of images).
        if field.type.startswith("array") or name.lower().endswith("_data_url"):
            kinds.add("images")
    return kinds


def _accepts(
    inputs: tuple[SchemaField, ...], props: dict[str, JSONObject], openapi: Any
) -> set[str]:
    accepts: set[str] = set()
    for field in inputs:
        prop = props.get(field.name, {})
        refs = referenced_names(prop, openapi)
        name = field.name.lower()
        if any(_LORA_SCHEMA.search(r) for r in refs) and not any(
            _CONTROL_SCHEMA.search(r) for r in refs
        ):
            accepts.add("lora")
            continue
        if any(_CONTROL_SCHEMA.search(r) for r in refs) or (
            _CONTROL_NAMES.fullmatch(name) and _is_upload(field, prop, refs)
        ):
            accepts.add("control")
            continue
        if _LORA_NAMES.fullmatch(name) and not field.enum and not _is_scalar_number(field):
            accepts.add("lora")
            continue
        if _is_upload(field, prop, refs):
            accepts |= _upload_kinds(field, prop, refs)
    return accepts


def _is_scalar_number(field: SchemaField) -> bool:
    return field.type in ("integer", "number", "boolean")


def _has(inputs: tuple[SchemaField, ...]) -> set[str]:
    names = {f.name: f for f in inputs if _is_scalar(f)}
    return {cap for cap, fields in HAS_RULES.items() if any(n in names for n in fields)}


def _outputs(
    outputs: tuple[SchemaField, ...], props: dict[str, JSONObject], openapi: Any
) -> set[str]:
    found: set[str] = set()
    for field in outputs:
        name = field.name.lower()
        if any(_has_word(name, (w,)) for w in _OUTPUT_SKIP):
            continue
        refs = referenced_names(props.get(field.name, {}), openapi)
        kinds = {k for k, words in _OUTPUT_WORDS.items() if _has_word(name, words)}
        if not kinds:
            kinds = {k for k, rx in _OUTPUT_SCHEMAS.items() if any(rx.search(r) for r in refs)}
        if kinds and (refs or field.type in ("string", "array<string>")):
            found |= kinds
        elif name in _TEXT_OUTPUTS and field.type in ("string", "array<string>"):
            found.add("text")
    return found


def _numbers(field: SchemaField) -> list[float]:
    """The largest values a field can take: its maximum, or its numeric enum values."""
    if field.maximum is not None:
        return [field.maximum]
    values = []
    for value in field.enum:
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            values.append(value)
        elif isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?s?", value.strip()):
            values.append(float(value.strip().removesuffix("s")))
    return values


def _limit(inputs: tuple[SchemaField, ...], names: tuple[str, ...]) -> float | None:
    values = [v for f in inputs if f.name in names and _is_scalar(f) for v in _numbers(f)]
    return max(values) if values else None


def capabilities(openapi: Any) -> Capabilities | None:
    """What the document says the model does; None when there is no document (an expansion
    error or nothing): "schema unknown". A document whose fields cannot be read says nothing,
    an empty `Capabilities`."""
    if not isinstance(openapi, dict) or "error" in openapi:
        return None
    schema = model_schema(openapi)
    inputs_raw, outputs_raw = raw_properties(openapi)
    max_outputs = _limit(schema.inputs, HAS_RULES["num_outputs"])
    max_duration = _limit(schema.inputs, HAS_RULES["duration"])
    return Capabilities(
        accepts=frozenset(_accepts(schema.inputs, inputs_raw, openapi)),
        has=frozenset(_has(schema.inputs)),
        outputs=frozenset(_outputs(schema.outputs, outputs_raw, openapi)),
        max_outputs=int(max_outputs) if max_outputs is not None else None,
        max_duration=float(max_duration) if max_duration is not None else None,
    )
