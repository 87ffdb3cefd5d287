"""A shape of the grammar data laid out as fixed-width units, one layout per segment length.

`73-B1 123.45` and `73-B1 1234` are two expansions of the old motorbike shape (a number of five
or four digits); matching and correction then work position by position on a known width.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from plates.grammar_spec import GrammarSpec, SegmentSpec, ShapeSpec


@dataclass(frozen=True)
class Unit:
    """A fixed-width piece of an expanded shape: allowed strings at consecutive positions."""

    segment: str
    options: tuple[str, ...]
    klass: str | None = None  # the character class, for units of one class character

    @property
    def width(self) -> int:
        """Characters the unit spans."""
        return len(self.options[0])


@dataclass(frozen=True)
class Expansion:
    """A shape with every variable-length segment fixed: a sequence of units."""

    shape: ShapeSpec
    units: tuple[Unit, ...]
    width: int
    upper_width: int | None  # characters on the upper line of a two-line plate, if fixed


def expand(spec: GrammarSpec, shape: ShapeSpec) -> Iterator[Expansion]:
    """Every fixed-width layout of a shape."""
    choices = [_segment_units(spec, seg) for seg in shape.segments]
    for combo in itertools.product(*choices):
        units = tuple(u for part in combo for u in part)
        width = sum(u.width for u in units)
        upper = None
        if shape.line_break_after is not None:
            last = max(i for i, u in enumerate(units) if u.segment == shape.line_break_after)
            upper = sum(u.width for u in units[: last + 1])
        yield Expansion(shape, units, width, upper)


def _segment_units(spec: GrammarSpec, seg: SegmentSpec) -> list[tuple[Unit, ...]]:
    """Every way a segment can be laid out as fixed-width units."""
    if seg.province:
        codes = sorted(code for province in spec.provinces for code in province.codes)
        return [(Unit(seg.name, tuple(codes)),)]
    if seg.class_ is not None:
        chars = tuple(spec.classes[seg.class_])
        unit = Unit(seg.name, chars, seg.class_)
        return [(unit,) * n for n in range(seg.min, seg.max + 1)]
    strings = [seg.literal] if seg.literal else list(seg.one_of or [])
    by_width: dict[int, list[str]] = {}
    for text in strings:
        by_width.setdefault(len(text), []).append(text)
    return [(Unit(seg.name, tuple(group)),) for group in by_width.values()]


def groups_of(exp: Expansion, text: str) -> tuple[tuple[str, str], ...]:
    """The text cut into its units, each named by its segment."""
    groups: list[tuple[str, str]] = []
    pos = 0
    for unit in exp.units:
        groups.append((unit.segment, text[pos : pos + unit.width]))
        pos += unit.width
    return tuple(groups)
