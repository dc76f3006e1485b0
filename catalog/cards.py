"""What a model card shows, derived once from an API `Model`: badges, safe URLs, placeholder.

Every page that shows a model (grid, model page, compare, shortlists) builds a `Card`
here, so badges and URL checks mean the same thing everywhere.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from catalog.prices import CardPrice
from fal.types import Model, ModelMetadata, is_endpoint_id
from fal.units import format_money
from usage.figures import CENT, DEMO_NOTE, WINDOW_DAYS, EndpointUsage

LICENSES = ("commercial", "research", "private")
GONE = "gone"  # the status of a model fal no longer lists (the index knows, not its entry)
HIGHLIGHT_TAGS = frozenset({"new", "beta", "pro", "turbo"})
NEW_WITHIN = timedelta(days=30)
MAX_SHOWN_TAGS = 3
# fal's model pages (with the playground); "<id>/api" is the model's API documentation.
FAL_MODELS_URL = "https://fal.ai/models/"
_WORD = re.compile(r"\w+")

# A glyph per category family, for the placeholder shown when a thumbnail cannot load.
_CATEGORY_ICONS = {
    "image": "▣",
    "video": "▶",
    "audio": "♪",
    "speech": "♪",
    "3d": "◆",
    "text": "¶",
    "llm": "¶",
    "json": "{}",
    "training": "⚙",
    "vision": "◉",
    "workflow": "⇄",
}


def safe_url(value: str) -> str:
    """The URL if it is an absolute http(s) URL with a host, else "" (never javascript: etc.)."""
    if not isinstance(value, str) or len(value) > 2048:
        return ""
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    if any(ch in value for ch in "\x00\r\n\t \"'<>\\`"):
        return ""
    return value


def parse_datetime(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def fold_tags(tags: tuple[str, ...], *, besides: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The tags worth showing: the first spelling of each (case duplicates dropped), in
    order, without internal tags (a leading underscore, e.g. `_marquee-video-model`) or a
    tag that repeats another badge (`besides`: the category, the family, the license).

    The one rule for tags: cards, the compare overview and the grid's tag facet use it.
    """
    seen: set[str] = {other.strip().casefold() for other in besides if other.strip()}
    folded = []
    for tag in tags:
        tag = tag.strip()
        key = tag.casefold()
        if tag and not tag.startswith("_") and key not in seen:
            seen.add(key)
            folded.append(tag)
    return tuple(folded)


def model_tags(meta: ModelMetadata) -> tuple[str, ...]:
    """A model's tags as fold_tags shows them beside its category, family and license badges."""
    group = meta.group.key if meta.group else ""
    return fold_tags(meta.tags, besides=(meta.category, group, license_of(meta.license_type)))


def license_of(license_type: str) -> str:
    return license_type if license_type in LICENSES else "unknown"


def category_icon(category: str) -> str:
    output = category.rsplit("-to-", 1)[-1]
    for family, icon in _CATEGORY_ICONS.items():
        if family in output:
            return icon
    return "●"


def initials(name: str) -> str:
    words = [w for w in name.replace("-", " ").replace("/", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


HUES = 12


def placeholder_hue(endpoint_id: str) -> int:
    """A stable hue bucket (0-11, CSS class `hue-N`) per endpoint id; CSP forbids inline styles."""
    return int(hashlib.sha256(endpoint_id.encode()).hexdigest()[:4], 16) % HUES


@dataclass(frozen=True, slots=True)
class Card:
    endpoint_id: str
    name: str
    category: str
    description: str
    thumbnail_url: str
    animated_url: str
    license: str
    group_key: str
    group_label: str
    kind: str
    status: str
    deprecated: bool
    is_new: bool
    tags: tuple[str, ...]
    duration_estimate: float | None
    created: datetime | None
    updated: datetime | None
    model_url: str
    github_url: str
    stream_url: str
    training_endpoint_ids: tuple[str, ...]
    inference_endpoint_ids: tuple[str, ...]
    has_metadata: bool
    placeholder_hue: int
    initials: str
    icon: str
    # From the index (`CatalogIndex.card`): part of the card, so of every rendered card's key.
    price: CardPrice | None = None
    price_note: str = ""  # why there is no price ("Prices need an API key (FAL_KEY)")
    gone_since: datetime | None = None  # when a full crawl of fal's catalog first lacked it
    # The team's last 30 days (`CatalogIndex.card` with the team's usage), and whether the
    # offline emulator made them up.
    usage: EndpointUsage | None = None
    usage_demo: bool = False

    @property
    def usage_badge(self) -> str:
        """ "ours: 1.2k calls · $34 / 30 d"; empty when the team did not use it."""
        usage = self.usage
        if usage is None or not usage.used:
            return ""
        parts = [f"{compact_count(usage.calls)} calls"] if usage.calls is not None else []
        if usage.spend is not None:
            parts.append(short_money(usage.spend, usage.currency))
        return f"ours: {' · '.join(parts)} / {WINDOW_DAYS} d"

    @property
    def usage_note(self) -> str:
        return DEMO_NOTE if self.usage_demo else ""

    @property
    def usage_title(self) -> str:
        """The badge's tooltip: the exact figures, and where they come from offline."""
        usage = self.usage
        if usage is None:
            return ""
        parts = [f"{usage.calls_text} calls"] if usage.calls is not None else []
        if usage.spend is not None:
            parts.append(f"{usage.spend_text} spent")
        text = f"The team, last {WINDOW_DAYS} days: {', '.join(parts)}."
        return f"{text} {DEMO_NOTE}." if self.usage_demo else text

    @property
    def shown_tags(self) -> tuple[tuple[str, bool], ...]:
        """(tag, highlighted) pairs: highlights (new, beta, pro, turbo) first, at most three."""
        ordered = sorted(self.tags, key=lambda t: t.casefold() not in HIGHLIGHT_TAGS)
        return tuple((t, t.casefold() in HIGHLIGHT_TAGS) for t in ordered[:MAX_SHOWN_TAGS])

    @property
    def more_tags(self) -> int:
        return max(0, len(self.tags) - MAX_SHOWN_TAGS)

    @property
    def role(self) -> str:
        """The model's role in its family ("Image to Video (Fast)"): what tells apart the
        cards of a family that share a name ("Veo 3.1 Fast"). Empty when the name says it."""
        if not self.group_label:
            return ""
        named = set(_WORD.findall(self.name.casefold()))
        return "" if set(_WORD.findall(self.group_label.casefold())) <= named else self.group_label

    @property
    def fal_page_url(self) -> str:
        """fal's page for the model (its playground), for a well-formed endpoint id only."""
        return f"{FAL_MODELS_URL}{self.endpoint_id}" if is_endpoint_id(self.endpoint_id) else ""

    @property
    def fal_docs_url(self) -> str:
        """fal's API documentation of the model, for a well-formed endpoint id only."""
        return f"{self.fal_page_url}/api" if self.fal_page_url else ""

    @property
    def github_is_license(self) -> bool:
        return "license" in self.github_url.lower()


def compact_count(count: int) -> str:
    """999, 1.2k, 12k, 1.2M: a count a badge has room for."""
    for limit, suffix in ((10**6, "M"), (10**3, "k")):
        if count >= limit:
            shown = count / limit
            return (
                f"{shown:.1f}".removesuffix(".0") + suffix if shown < 10 else f"{shown:.0f}{suffix}"
            )
    return str(count)


def short_money(amount: Decimal, currency: str) -> str:
    """$34 from ten up, $3.40 below, "< $0.01" for less than a cent: a badge's spend."""
    if 0 < amount < CENT:
        return f"< {format_money(CENT, currency)}"
    rounded = amount.quantize(Decimal(1) if amount >= 10 else CENT)
    return format_money(rounded, currency)


def card_for(
    model: Model,
    *,
    now: datetime | None = None,
    price: CardPrice | None = None,
    price_note: str = "",
) -> Card:
    """A model's card; pages get theirs with its price from `CatalogIndex.card`."""
    meta = model.metadata
    now = now or datetime.now(UTC)
    if meta is None:  # Metadata is optional in the spec: show what the id alone can tell.
        bare = Model(model.endpoint_id, ModelMetadata(display_name=model.endpoint_id))
        return replace(
            card_for(bare, now=now, price=price, price_note=price_note), has_metadata=False
        )
    created = parse_datetime(meta.date)
    name = meta.display_name.strip() or model.endpoint_id
    return Card(
        endpoint_id=model.endpoint_id,
        name=name,
        category=meta.category,
        description=meta.description.strip(),
        thumbnail_url=safe_url(meta.thumbnail_url),
        animated_url=safe_url(meta.thumbnail_animated_url),
        license=license_of(meta.license_type),
        group_key=meta.group.key if meta.group else "",
        group_label=meta.group.label if meta.group else "",
        kind=meta.kind,
        status=meta.status,
        deprecated=meta.status == "deprecated",
        is_new=created is not None and timedelta(0) <= now - created <= NEW_WITHIN,
        tags=model_tags(meta),
        duration_estimate=meta.duration_estimate,
        created=created,
        updated=parse_datetime(meta.updated_at),
        model_url=safe_url(meta.model_url),
        github_url=safe_url(meta.github_url),
        stream_url=safe_url(meta.stream_url),
        training_endpoint_ids=meta.training_endpoint_ids,
        inference_endpoint_ids=meta.inference_endpoint_ids,
        has_metadata=True,
        placeholder_hue=placeholder_hue(model.endpoint_id),
        initials=initials(name),
        icon=category_icon(meta.category),
        price=price,
        price_note=price_note,
    )
