"""The team's usage laid over the catalog: a model page's "Our usage", and the models the
team calls that are at risk (deprecated, gone, or broken since the window began).

Figures come from `usage.selectors` (kept per process and usage run); the risks are kept
with the catalog index per usage run (`CatalogIndex.derived`), so a page that shows them
costs one small query only the first time an index and a run meet.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, time

from catalog.cards import Card, card_for
from catalog.index import CatalogIndex
from catalog.models import Change
from catalog.watch import successors
from usage.figures import DayFigures, EndpointUsage, TeamUsage
from usage.selectors import daily


@dataclass(frozen=True)
class ModelUsage:
    """A model page's "Our usage": the 30 days' figures and each day's."""

    usage: EndpointUsage
    days: tuple[DayFigures, ...]
    demo: bool


def model_usage(usage: TeamUsage, endpoint_id: str) -> ModelUsage | None:
    """The endpoint's section, or None when the team did not use it in the window."""
    found = usage.get(endpoint_id)
    if found is None or not found.used:
        return None
    return ModelUsage(found, daily(usage, endpoint_id), usage.demo)


@dataclass(frozen=True)
class Risk:
    """A model the team called in the window that may stop working for it."""

    endpoint_id: str
    name: str
    reasons: tuple[str, ...]  # "deprecated", "gone from fal", "a breaking change on 2026-11-02"
    known: bool  # the index has it (its page opens without asking fal)
    suggestions: tuple[Card, ...]


def usage_risks(catalog: CatalogIndex, usage: TeamUsage) -> tuple[Risk, ...]:
    """The models the team used in the window that are deprecated, gone or had a breaking
    change since the window began, most spent on first: built once per index and run."""
    if not usage.synced or catalog.empty:
        return ()
    return catalog.derived(("usage_risks", usage.run_id), lambda: _risks(catalog, usage))


def _risks(catalog: CatalogIndex, usage: TeamUsage) -> tuple[Risk, ...]:
    used = usage.ranking
    since = datetime.combine(usage.since, time(), tzinfo=UTC) if usage.since else None
    # Dated by the catalog state that showed it, not by the sync that read that state: a
    # first sync replays fal's older states (offline, the snapshot's history) today, and a
    # change of June is no news in December.
    changes = Change.objects.filter(breaking=True)
    if since is not None:
        changes = changes.filter(seen_at__gte=since)
    breaking: dict[str, datetime] = {}
    for endpoint_id, seen_at in changes.order_by("seen_at").values_list("endpoint_id", "seen_at"):
        breaking[endpoint_id] = seen_at  # the latest
    risks = []
    for endpoint_id in sorted(used, key=lambda e: used[e], reverse=True):
        model = catalog.get(endpoint_id)
        reasons = []
        if model is None or catalog.is_gone(endpoint_id):
            reasons.append("gone from fal")
        elif model.metadata is not None and model.metadata.status == "deprecated":
            reasons.append("deprecated")
        if endpoint_id in breaking:
            reasons.append(f"a breaking change on {breaking[endpoint_id]:%Y-%m-%d}")
        if not reasons:
            continue
        # A successor that broke in the same window would be no way out.
        exclude = {endpoint_id, *breaking}
        suggested = successors(model, catalog, exclude) if model is not None else []
        risks.append(
            Risk(
                endpoint_id=endpoint_id,
                name=card_for(model).name if model is not None else endpoint_id,
                reasons=tuple(reasons),
                known=model is not None,
                suggestions=tuple(card_for(m) for m in suggested),
            )
        )
    return tuple(risks)


def unlisted_used(usage: TeamUsage, shortlisted: Collection[str]) -> tuple[str, ...]:
    """For curators: endpoints the team used in the window that are on no shortlist, most
    spent on first."""
    used = usage.ranking
    return tuple(
        e for e in sorted(used, key=lambda e: used[e], reverse=True) if e not in shortlisted
    )


def risk_banner(
    catalog: CatalogIndex, usage: TeamUsage, shortlisted: Collection[str] | None = None
) -> dict:
    """The banner's context: the risks, and for a curator (`shortlisted`: the endpoints on
    any list) the used endpoints on none."""
    return {
        "usage_risks": usage_risks(catalog, usage),
        # Those the index knows: their pages open without asking fal (the rest are risks).
        "unlisted_used": tuple(e for e in unlisted_used(usage, shortlisted) if catalog.get(e))
        if shortlisted is not None
        else (),
        "usage_demo": usage.demo,
    }
