"""A plate typed by a person: the shape it fits, its layout, and its printed form.

The typed separators are a hint before anything else: `73-A1 2346` is an old motorbike plate
because its dash and space fall where that shape prints them, even on a vehicle the detector
called a car; and when they are valid for the shape they are kept as typed. Without separators
(`73A12346`), or with separators the shape does not print there, the vehicle class and the
machine's line count choose, and the grammar prints the plate (`73-A1 2346` on a motorbike).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from plates.grammar import Grammar, Parse

LINE_BREAK = " "
GROUP = "-"
DECIMAL = "."


@dataclass(frozen=True)
class TypedPlate:
    """A typed plate that fits a shape, with the layout and printed form to store."""

    parse: Parse
    lines: Literal[1, 2]
    printed: str
    kept: bool  # the printed form is the typed one (its separators were valid for the shape)


def read_typed(
    grammar: Grammar,
    text: str,
    *,
    lines: Literal[1, 2] | None = None,
    vehicle: str | None = None,
    colour: str | None = None,
    usual_lines: int | None = None,
) -> TypedPlate | None:
    """The shape and printed form of a typed plate, or None when it fits no shape.

    `lines` restricts the layout; `usual_lines` (e.g. what the machine read) only breaks ties.
    """
    compact, separators = split_separators(grammar, text)
    fits = grammar.fits(compact, lines=lines, vehicle=vehicle, colour=colour)
    if not fits:
        return None

    def rank(item: tuple[Parse, Literal[1, 2]]) -> tuple[bool, float, bool]:
        parse, layout = item
        valid = bool(separators) and _valid(grammar, parse, layout, separators)
        return (valid, parse.probability, layout == usual_lines)

    parse, layout = max(fits, key=rank)  # the first of equals: the data's shape order
    if separators and _valid(grammar, parse, layout, separators):
        printed = "".join(_interleave(parse.text, separators))
        return TypedPlate(parse, layout, printed, kept=True)
    return TypedPlate(parse, layout, grammar.printed(parse, layout), kept=False)


def split_separators(grammar: Grammar, text: str) -> tuple[str, dict[int, str]]:
    """The compact characters, and the separator typed before each position (ends stripped).

    Whitespace becomes one space, so `73-A1  2346` and `73-A1\\n2346` are the same break.
    """
    chars: list[str] = []
    separators: dict[int, str] = {}
    pending = ""
    for char in text.strip():
        if char.isspace() or char in grammar.spec.separators:
            pending += LINE_BREAK if char.isspace() else char
            continue
        if chars and pending:
            separators[len(chars)] = _normalise(pending)
        pending = ""
        chars.append(grammar.canonical_char(char))
    return "".join(chars), separators


def normalise_typed(grammar: Grammar, text: str) -> str:
    """A typed plate in upper case with its separators tidied, for plates that fit no shape."""
    compact, separators = split_separators(grammar, text)
    return "".join(_interleave(compact, separators))


def _normalise(separator: str) -> str:
    if LINE_BREAK in separator:
        stripped = separator.replace(LINE_BREAK, "")
        return LINE_BREAK if not stripped else separator  # `73-A1 - 2346` stays invalid
    return separator


def _interleave(text: str, separators: dict[int, str]) -> Iterator[str]:
    for index, char in enumerate(text):
        yield separators.get(index, "")
        yield char


def _valid(grammar: Grammar, parse: Parse, layout: int, separators: dict[int, str]) -> bool:
    """Whether every typed separator sits where the shape prints one, the break on two lines."""
    groups, decimal = _boundaries(parse)
    shape = grammar.shape(parse.shape)
    if shape.line_break_after is None:
        breaks = groups
    else:
        breaks = {_group_end(parse, shape.line_break_after)}
    typed_breaks = [pos for pos, sep in separators.items() if sep == LINE_BREAK]
    if layout == 2 and (len(typed_breaks) != 1 or typed_breaks[0] not in breaks):
        return False
    if layout == 1 and typed_breaks:
        return False
    for pos, sep in separators.items():
        allowed = sep == LINE_BREAK or (sep == GROUP and pos in groups)
        if not (allowed or (sep == DECIMAL and pos == decimal)):
            return False
    return True


def _boundaries(parse: Parse) -> tuple[set[int], int | None]:
    """Positions between the plate's groups, and of the dot in a five-digit number."""
    groups: set[int] = set()
    number_at = None
    pos = 0
    previous = None
    for name, text in parse.groups:
        if previous is not None and previous != name:
            groups.add(pos)
            number_at = pos if name == "number" else number_at
        previous = name
        pos += len(text)
    decimal = number_at + 3 if number_at is not None and len(parse.group("number")) == 5 else None
    return groups, decimal


def _group_end(parse: Parse, name: str) -> int:
    pos, end = 0, 0
    for group, text in parse.groups:
        pos += len(text)
        if group == name:
            end = pos
    return end
