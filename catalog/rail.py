"""The facet rail's layout: where a facet sits (`Box`) and what the rail's partial renders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypedDict


@dataclass(frozen=True)
class Group:
    """A part of the rail that holds several boxes under one title."""

    order: int
    title: str
    id: str


SCHEMA = Group(70, "What the schema says", "capability-facets")


@dataclass(frozen=True)
class Box:
    """Where a facet sits in the rail: facets naming one box share it, in table order."""

    order: int  # boxes come smallest first
    title: str
    style: str = "fieldset"  # or "fold" (a <details>), or "field" (a label and one select)
    id: str = ""
    legend: str = ""  # a fold's visually hidden legend; its title if empty
    folded: bool = False  # a fold that stays closed until one of its facets is set
    group: Group | None = None


class RailOption(TypedDict):
    """One option of a control: a dict, which Django's templates read fastest (they try a
    name as a key before an attribute, and the rail shows hundreds of options)."""

    value: str
    label: str
    id: str
    selected: bool
    count: int | None  # None: no count shown (a select's options all have one)
    dot: str  # the class of its coloured dot (see Control.dots)


def option(
    value: str, label: str, id: str, selected: bool, count: int | None = None, dot: str = ""
) -> RailOption:
    return {"value": value, "label": label, "id": id, "selected": selected, "count": count,
            "dot": dot}  # fmt: skip


@dataclass(frozen=True)
class Control:
    """One facet's inputs, as the rail's partial renders them."""

    name: str
    kind: str  # "radio", "checkbox", "select", "text" or "number"
    options: Sequence[RailOption] = ()
    more: Sequence[RailOption] = ()  # folded under `more_label`
    more_label: str = ""
    more_class: str = ""
    empty: str = ""  # what a list without options says
    dots: bool = False  # a coloured dot before each option's label (class: RailOption.dot)
    any_label: str = ""  # a select's first option, which chooses nothing
    label: str = ""  # an input's label, class, placeholder and value
    css: str = ""
    placeholder: str = ""
    value: Any = None
    unit: str = ""
    note: str = ""  # a line under an input, saying what it means
    stating: int = 0  # a limit's: how many of the matches state one, and the largest
    largest: float | int | None = None

    @property
    def lists(self) -> list[Sequence[RailOption]]:
        """The options shown, then those folded under `more_label` (if any)."""
        return [self.options, self.more] if self.more else [self.options]


@dataclass(frozen=True)
class Panel:
    """A box of the rail with its controls, or a group with its boxes."""

    title: str
    style: str
    id: str = ""
    legend: str = ""
    open: bool = True
    controls: tuple[Control, ...] = ()
    boxes: tuple[Panel, ...] = ()
    note: str = ""


def layout(placed: Sequence[tuple[Box, Control, bool]], notes: Mapping[Group, str]) -> list[Panel]:
    """Panels in order from (box, control, whether its facet is set) in table order: the
    controls of one box together, the boxes of a group in one panel with its note."""
    controls: dict[Box, list[Control]] = {}
    is_set: dict[Box, bool] = {}
    for box, control, chosen in placed:
        controls.setdefault(box, []).append(control)
        is_set[box] = is_set.get(box, False) or chosen
    panels: list[tuple[int, Panel]] = []
    grouped: dict[Group, list[tuple[int, Panel]]] = {}
    for box, shown in controls.items():
        panel = Panel(
            box.title, box.style, box.id, box.legend or box.title,
            not box.folded or is_set[box], tuple(shown),
        )  # fmt: skip
        (grouped.setdefault(box.group, []) if box.group else panels).append((box.order, panel))
    for group, boxes in grouped.items():
        inside = tuple(panel for _, panel in sorted(boxes, key=itemgetter(0)))
        panels.append(
            (
                group.order,
                Panel(group.title, "group", group.id, boxes=inside, note=notes.get(group, "")),
            )
        )
    return [panel for _, panel in sorted(panels, key=itemgetter(0))]
