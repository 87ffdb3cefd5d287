"""Vietnamese plate grammar: compact form, shape matching, position-aware correction, printing.

The rules live in `plates/data/grammar.yaml`; this module only interprets them. A reading is a
list of lines, each a list of `Slot`s (the characters the OCR read, with alternatives and their
probabilities). `Grammar.decode` finds the most probable strings that fit a shape, correcting a
character only where the read one is invalid at its position and the grammar data names it as a
classic confusion, or the OCR itself offered the valid one as an alternative.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from plates.expansion import Expansion, Unit, expand, groups_of
from plates.grammar_spec import GrammarSpec, ShapeSpec, load_spec

Slot = tuple[tuple[str, float], ...]
"""One character position as read: (character, probability) alternatives, most likely first."""

MIN_CHAR_PROBABILITY = 1e-4  # below this an alternative is noise, never a reading
BEAM_WIDTH = 8
DELETION_WEIGHT = 0.3  # dropping a stray character at a line's end (a bolt, the border) is a guess
DELETION_FLOOR = 0.02
VEHICLE_MISMATCH_WEIGHT = 0.7  # the detector may be wrong about the class: lower, never exclude


@dataclass(frozen=True)
class Parse:
    """A plate string that fits a shape, with its probability and how it was reached."""

    text: str
    shape: str
    probability: float
    groups: tuple[tuple[str, str], ...]
    corrected: tuple[int, ...] = ()
    deleted: bool = False
    upper_width: int | None = None

    def group(self, name: str) -> str:
        """The characters of a named group (e.g. `province`, `series`, `number`)."""
        return "".join(text for key, text in self.groups if key == name)


@dataclass
class Grammar:
    """The loaded grammar: validation, correction and printing of Vietnamese plates."""

    spec: GrammarSpec
    expansions: list[Expansion] = field(init=False)

    def __post_init__(self) -> None:
        self.expansions = [e for shape in self.spec.shapes for e in expand(self.spec, shape)]
        self._stands_for: dict[str, list[str]] = {}
        for char, substitutes in self.spec.accepted_for.items():
            for substitute in substitutes:
                self._stands_for.setdefault(substitute, []).append(char)
        seps = re.escape(self.spec.separators)
        self._separators = re.compile(f"[{seps}\\s]+")

    @property
    def version(self) -> str:
        """The grammar data version recorded with each reading."""
        return self.spec.version

    @property
    def province_codes(self) -> frozenset[str]:
        """Every valid two-digit province code."""
        return frozenset(code for p in self.spec.provinces for code in p.codes)

    def province_name(self, code: str) -> str | None:
        """The province a code belongs to, or None."""
        return next((p.name for p in self.spec.provinces if code in p.codes), None)

    # ---------------------------------------------------------------- text forms

    def canonical_char(self, char: str) -> str:
        """A read character in the grammar's alphabet (upper case, look-alikes unified)."""
        char = self.spec.equivalents.get(char, char)
        upper = char.upper()
        return self.spec.equivalents.get(upper, upper)

    def compact(self, text: str) -> str:
        """The compact form: upper case, no spaces, dashes or dots; `Đ` kept."""
        return "".join(self.canonical_char(c) for c in self._separators.sub("", text))

    def search_key(self, text: str) -> str:
        """The form plates are compared in: compact, with `D` accepted for `Đ`."""
        return self.compact(text).replace("Đ", "D")

    # ---------------------------------------------------------------- matching

    def match(
        self,
        text: str,
        *,
        lines: int | None = None,
        vehicle: str | None = None,
        shapes: Collection[str] | None = None,
    ) -> Parse | None:
        """The best shape a typed or stored plate fits exactly, or None when it fits none.

        A space between two groups (`73-B1 1234`) marks a two-line plate's line break, which
        settles plates that read as a car's or a motorbike's (`73B11234`).
        """
        words = text.split()
        upper = len(self.compact(words[0])) if len(words) == 2 and lines != 1 else None
        found = self.fits(text, lines=lines, vehicle=vehicle, shapes=shapes, upper=upper)
        return found[0][0] if found else None

    def fits(
        self,
        text: str,
        *,
        lines: int | None = None,
        vehicle: str | None = None,
        colour: str | None = None,
        shapes: Collection[str] | None = None,
        upper: int | None = None,
    ) -> list[tuple[Parse, Literal[1, 2]]]:
        """Every shape and layout a plate fits exactly (no correction), the likeliest first.

        `upper`: the characters on a two-line plate's upper line, when known; `colour` narrows
        the series letters (blue plates); `vehicle` lowers shapes unusual on that vehicle.
        """
        compact = self.compact(text)
        if not compact or not set(compact) <= set(self.spec.alphabet):
            return []
        slots = [((c, 1.0),) for c in compact]
        layouts: list[Literal[1, 2]] = [1] if lines == 1 else [2] if lines == 2 else [1, 2]
        found: list[tuple[Parse, Literal[1, 2]]] = []
        for layout in layouts:
            for exp in self.expansions:
                if layout not in exp.shape.layouts or exp.width != len(compact):
                    continue
                if shapes is not None and exp.shape.name not in shapes:
                    continue
                if layout == 2 and upper is not None and exp.upper_width not in (None, upper):
                    continue
                parses = self._fit(exp, slots, colour, vehicle, corrections=False, limit=1)
                found += [(parse, layout) for parse in parses]
        # Stable: equally likely fits keep the order of the shapes in the data, one line first.
        return sorted(found, key=lambda item: -item[0].probability)

    def is_valid(self, text: str, *, lines: int | None = None) -> bool:
        """Whether `text` fits a §5 shape exactly."""
        return self.match(text, lines=lines) is not None

    def decode(
        self,
        lines: Sequence[Sequence[Slot]],
        *,
        vehicle: str | None = None,
        colour: str | None = None,
        limit: int = 5,
    ) -> list[Parse]:
        """The most probable grammatical strings for the OCR's lines, best first."""
        layout = len(lines)
        variants = self._deletion_variants([list(line) for line in lines])
        found: dict[str, Parse] = {}
        for slots, upper, weight in variants:
            for exp in self.expansions:
                if layout not in exp.shape.layouts or exp.width != len(slots):
                    continue
                if layout == 2 and exp.upper_width is not None and exp.upper_width != upper:
                    continue
                for parse in self._fit(exp, slots, colour, vehicle, corrections=True, limit=limit):
                    parse = replace(
                        parse,
                        probability=parse.probability * weight,
                        deleted=weight < 1.0,
                        upper_width=upper if layout == 2 else None,
                    )
                    best = found.get(parse.text)
                    if best is None or parse.probability > best.probability:
                        found[parse.text] = parse
        return sorted(found.values(), key=lambda p: -p.probability)[:limit]

    @staticmethod
    def _deletion_variants(
        lines: list[list[Slot]],
    ) -> list[tuple[list[Slot], int, float]]:
        """The slots as read, and with one stray character dropped at either end of a line."""
        flat = [s for line in lines for s in line]
        upper = len(lines[0]) if lines else 0
        variants = [(flat, upper, 1.0)]
        for index, line in enumerate(lines):
            if len(line) < 3:
                continue
            start = sum(len(prior) for prior in lines[:index])
            for pos in {start, start + len(line) - 1}:
                reduced = flat[:pos] + flat[pos + 1 :]
                # The surer the OCR was of a character, the less likely it is a stray one.
                weight = DELETION_WEIGHT * max(DELETION_FLOOR, 1.0 - flat[pos][0][1])
                variants.append((reduced, upper - 1 if index == 0 else upper, weight))
        return variants

    # ---------------------------------------------------------------- fitting

    def _fit(
        self,
        exp: Expansion,
        slots: Sequence[Slot],
        colour: str | None,
        vehicle: str | None,
        *,
        corrections: bool,
        limit: int,
    ) -> list[Parse]:
        """The `limit` best strings of one expansion (beam search over its units)."""
        beam: list[tuple[float, str, tuple[int, ...]]] = [(1.0, "", ())]
        pos = 0
        for unit in exp.units:
            options = self._unit_options(
                unit, exp, slots[pos : pos + unit.width], colour, corrections
            )
            if not options:
                return []
            scored = (
                (p * q, text + s, fixed + tuple(pos + i for i in fixes))
                for (p, text, fixed), (s, q, fixes) in itertools.product(beam, options)
            )
            beam = heapq.nlargest(BEAM_WIDTH, scored, key=lambda item: item[0])
            pos += unit.width
        weight = 1.0
        if vehicle is not None and vehicle not in exp.shape.vehicles:
            weight = VEHICLE_MISMATCH_WEIGHT
        return [
            Parse(text, exp.shape.name, p * weight, groups_of(exp, text), fixed)
            for p, text, fixed in beam[:limit]
        ]

    def _unit_options(
        self,
        unit: Unit,
        exp: Expansion,
        slots: Sequence[Slot],
        colour: str | None,
        corrections: bool,
    ) -> list[tuple[str, float, tuple[int, ...]]]:
        """Allowed strings for a unit with their probabilities and corrected positions."""
        allowed = self._allowed(unit, colour)
        per_pos = [{s[i] for s in allowed} for i in range(unit.width)]
        char_probs = [
            self._char_probs(slot, valid, corrections)
            for slot, valid in zip(slots, per_pos, strict=True)
        ]
        options: list[tuple[str, float, tuple[int, ...]]] = []
        for option in allowed:
            prob, fixes = 1.0, []
            for i, char in enumerate(option):
                p, fixed = char_probs[i].get(char, (0.0, False))
                prob *= p
                if fixed:
                    fixes.append(i)
            if prob > 0:
                options.append((option, prob, tuple(fixes)))
        return heapq.nlargest(BEAM_WIDTH, options, key=lambda o: o[1])

    def _allowed(self, unit: Unit, colour: str | None) -> tuple[str, ...]:
        narrowed = self.spec.colour_classes.get(colour or "", {}).get(unit.klass or "")
        if narrowed is None:
            return unit.options
        return tuple(c for c in unit.options if c in narrowed)

    def _char_probs(
        self, slot: Slot, valid: set[str], corrections: bool
    ) -> dict[str, tuple[float, bool]]:
        """Probability of each valid character at a position, and whether it is a correction.

        A valid character the OCR offered keeps its probability; one that only a classic
        confusion of an invalid reading (or of an invalid alternative) leads to gets that
        reading's probability times the confusion weight.
        """
        probs: dict[str, tuple[float, bool]] = {}
        weight = self.spec.confusion_weight
        for index, (seen, p) in enumerate(slot):
            # `D` read where `Đ` fits is the same plate, not a correction.
            for char in (seen, *self._stands_for.get(seen, ())):
                if char in valid and p >= MIN_CHAR_PROBABILITY and char not in probs:
                    probs[char] = (p, index > 0)
            if not corrections or seen in valid:
                continue
            for char in self.spec.confusions.get(seen, []):
                fixed = p * weight
                if char in valid and fixed >= MIN_CHAR_PROBABILITY:
                    if fixed > probs.get(char, (0.0, True))[0]:
                        probs[char] = (fixed, True)
        return probs

    # ---------------------------------------------------------------- printing

    def printed(self, parse: Parse, lines: int) -> str:
        """The plate as printed (`73A-123.45`, `73-B1 123.45`, `29MĐ1-013.53`)."""
        shape = self.shape(parse.shape)
        template = shape.printed.get(lines) or shape.printed[shape.layouts[0]]
        values = {name: parse.group(name) for name, _ in parse.groups}
        if len(values.get("number", "")) == 5:
            values["number"] = f"{values['number'][:3]}.{values['number'][3:]}"
        return template.format(**values)

    def shape(self, name: str) -> ShapeSpec:
        """A shape by name."""
        return next(s for s in self.spec.shapes if s.name == name)


@functools.lru_cache(maxsize=4)
def load_grammar(path: Path | None = None) -> Grammar:
    """The grammar from a data file (the packaged `plates/data/grammar.yaml` by default)."""
    return Grammar(load_spec(path))
