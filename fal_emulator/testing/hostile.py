"""A catalog of hostile entries, for the emulator: markup and script in every string field,
`javascript:` and `data:` URLs in every URL field, huge and right-to-left strings, wrong
types, unknown fields, no metadata, and a lone surrogate. Shared by the hostile-content
tests (tests/catalog/test_hostile_content.py) and the browser test
(tests/catalog/test_browser_hostile.py).

Every payload that could run sets `window.__xss` or opens a dialog; the tests assert that
neither ever happens and that no payload reaches the page unescaped.
"""

from __future__ import annotations

from fal.openapi import JSONObject
from fal_emulator.app import Emulator

SCRIPT = "<script>window.__xss=1;alert('script')</script>"
IMG = '"><img src=x onerror="window.__xss=1;alert(\'img\')">'
ATTR = "' onmouseover='window.__xss=1' autofocus onfocus='alert(1)' x='"
SVG = "<svg/onload=window.__xss=1>"
HX = '<div hx-get=/admin/ hx-trigger=load hx-on:htmx:load="window.__xss=1">x</div>'
TEMPLATE = "{{ settings.SECRET_KEY }}{% debug %}"
PAYLOADS = (SCRIPT, IMG, ATTR, SVG, HX, TEMPLATE)
EVERY_PAYLOAD = " ".join(PAYLOADS)
# What must never appear in a page as markup (escaped, they are harmless text).
RAW_MARKERS = (
    "<script>window.__xss",
    "<img src=x",
    "<svg/onload",
    'hx-on:htmx:load="window',
    "onmouseover='window",
)

BAD_URLS = (
    "javascript:window.__xss=1;alert('url')",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>window.__xss=1</script>",
    "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
    "vbscript:msgbox(1)",
    "//evil.example/x.png",
    'https://evil.example/x.png" onerror="window.__xss=1',
    "https://evil.example/<script>",
)
LONG_WORD = "W" * 6000
RTL = (
    "\u202egnp.exe\u202c \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea"
)
ZALGO = "Z\u0334\u0321\u0328\u031b\u0316\u034e\u031e\u0359\u0339\u032b\u032c" * 40
LONE_SURROGATE = "broken \ud800 text"

XSS_ID = "evil/xss-everywhere"
FORMULA_ID = "evil/formula"
LONG_ID = "evil/long"
VALID_IDS = (XSS_ID, FORMULA_ID, LONG_ID, "evil/rtl", "evil/no-metadata", "evil/wrong-types")


def _everything(endpoint_id: str, value: str, url: str) -> JSONObject:
    """An entry whose every string field is `value` and every URL field is `url`."""
    return {
        "endpoint_id": endpoint_id,
        "unknown_top_level": {"nested": [value]},
        "metadata": {
            "display_name": value,
            "category": value,
            "description": f"{value}\n\n{EVERY_PAYLOAD}",
            "status": "active",
            "tags": [*PAYLOADS, value, "new"],
            "updated_at": value,
            "date": "2026-11-01T00:00:00Z",
            "thumbnail_url": url,
            "thumbnail_animated_url": url,
            "model_url": url,
            "github_url": url + "/LICENSE",
            "stream_url": url,
            "license_type": value,
            "kind": value,
            "group": {"key": value, "label": value},
            "training_endpoint_ids": [value, "fal-ai/flux/dev", "a/b\nc"],
            "inference_endpoint_ids": [XSS_ID, "not an id"],
            "duration_estimate": 2.5,
            "is_favorited": value,
            "unknown_field": value,
        },
    }


def hostile_models() -> list[JSONObject]:
    models = [_everything(XSS_ID, f"{SCRIPT}{IMG}", BAD_URLS[0])]
    models += [
        _everything(f"evil/url-{n}", f"URL case {n} {ATTR}", url)
        for n, url in enumerate(BAD_URLS[1:], start=1)
    ]
    models += [
        {
            "endpoint_id": FORMULA_ID,
            "metadata": {
                "display_name": '=HYPERLINK("https://evil.example","click")',
                "category": "+cmd|' /C calc'!A0",
                "description": "@SUM(1+1)",
                "status": "active",
                "license_type": "commercial",
                "thumbnail_url": "https://fal.media/ok.png",
                "tags": ["-2+3"],
            },
        },
        {
            "endpoint_id": LONG_ID,
            "metadata": {
                "display_name": LONG_WORD,
                "category": "text-to-image",
                "description": (LONG_WORD + " ") * 20,
                "status": "active",
                "tags": [f"tag-{n}-{LONG_WORD[:300]}" for n in range(150)],
                "group": {"key": LONG_WORD, "label": LONG_WORD},
                "model_url": "https://fal.ai/" + "a" * 2000,
            },
        },
        {
            "endpoint_id": "evil/rtl",
            "metadata": {
                "display_name": RTL + ZALGO,
                "category": RTL,
                "description": ZALGO,
                "status": "active",
                "tags": [RTL, ZALGO[:60]],
                "group": {"key": "rtl", "label": RTL},
            },
        },
        {"endpoint_id": "evil/no-metadata"},
        {
            "endpoint_id": "evil/wrong-types",
            "metadata": {
                "display_name": 42,
                "category": ["image"],
                "description": {"html": SCRIPT},
                "status": None,
                "tags": SCRIPT,
                "group": SCRIPT,
                "thumbnail_url": ["https://fal.media/x.png"],
                "duration_estimate": "NaN",
                "training_endpoint_ids": SCRIPT,
            },
        },
        {"endpoint_id": "evil/surrogate", "metadata": {"display_name": LONE_SURROGATE}},
        # Entries the client must skip, not render.
        {"endpoint_id": f"evil/{SCRIPT}", "metadata": {"display_name": "id with markup"}},
        {"endpoint_id": "evil/new\nline", "metadata": {"display_name": "id with a newline"}},
        {"endpoint_id": "", "metadata": {"display_name": "empty id"}},
        {"endpoint_id": None},
        {"no_endpoint_id": True},
        # A real one, so that comparisons have a neighbour.
        {
            "endpoint_id": "fal-ai/flux/dev",
            "metadata": {
                "display_name": "FLUX.1 [dev]",
                "category": "text-to-image",
                "status": "active",
                "license_type": "commercial",
                "thumbnail_url": "https://fal.media/files/flux.jpg",
            },
        },
    ]
    return models


def hostile_openapi() -> dict[str, JSONObject]:
    """An OpenAPI document whose names, descriptions, enums and defaults are payloads."""
    schema = {
        "type": "object",
        "required": [SCRIPT, "prompt"],
        "properties": {
            SCRIPT: {"type": "string", "description": IMG, "default": SVG},
            "prompt": {
                "type": "string",
                "description": EVERY_PAYLOAD,
                "enum": list(PAYLOADS),
                "examples": [BAD_URLS[0]],
            },
            "image_url": {"type": "string", "default": BAD_URLS[4], "description": LONG_WORD},
            "style": {"$ref": f"#/components/schemas/{SCRIPT}"},
        },
    }
    document = {
        "openapi": "3.0.4",
        "info": {"title": SCRIPT, "version": IMG},
        "paths": {
            f"/{XSS_ID}": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": schema}}},
                    "responses": {
                        "200": {
                            "description": SCRIPT,
                            "content": {"application/json": {"schema": schema}},
                        }
                    },
                }
            }
        },
        "components": {"schemas": {"Input": schema}},
    }
    return {XSS_ID: document, FORMULA_ID: document, LONG_ID: {"openapi": SCRIPT}}


def hostile_emulator() -> Emulator:
    return Emulator(hostile_models(), hostile_openapi())
