"""The plate grammar's data file (`plates/data/grammar.yaml`), validated on load."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_GRAMMAR_PATH = Path(__file__).parent / "data" / "grammar.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProvinceSpec(_Strict):
    """A province (after the 2025 mergers) and its two-digit codes."""

    name: str = Field(description="Province name, Vietnamese.")
    codes: list[str] = Field(min_length=1, description="Its registration codes.")


class SegmentSpec(_Strict):
    """One group of a plate shape: a province code, characters of a class, or literal strings."""

    name: str = Field(description="Group name used by the printed templates.")
    province: bool = Field(default=False, description="A province code (two digits).")
    class_: str | None = Field(default=None, alias="class", description="Character class name.")
    min: int = Field(default=1, ge=0, description="Fewest characters of the class.")
    max: int = Field(default=1, ge=1, description="Most characters of the class.")
    one_of: list[str] | None = Field(default=None, description="Allowed literal strings.")
    literal: str | None = Field(default=None, description="The one allowed literal string.")

    @model_validator(mode="after")
    def _one_kind(self) -> SegmentSpec:
        kinds = [
            self.province,
            self.class_ is not None,
            self.one_of is not None,
            bool(self.literal),
        ]
        if sum(kinds) != 1:
            raise ValueError(f"segment {self.name!r} needs exactly one of province/class/one_of")
        if self.min > self.max:
            raise ValueError(f"segment {self.name!r}: min > max")
        return self


class ShapeSpec(_Strict):
    """A series shape of §5: its segments, layouts and printed forms."""

    name: str
    description: str
    example: str = Field(description="An illustration from the regulation, compact form.")
    segments: list[SegmentSpec] = Field(min_length=2)
    layouts: list[Literal[1, 2]] = Field(min_length=1)
    line_break_after: str | None = Field(description="Segment ending the upper line, or null.")
    printed: dict[int, str] = Field(description="Printed template per line count.")
    vehicles: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ShapeSpec:
        names = {s.name for s in self.segments}
        if self.line_break_after is not None and self.line_break_after not in names:
            raise ValueError(f"shape {self.name}: line_break_after names no segment")
        if set(self.printed) != set(self.layouts):
            raise ValueError(f"shape {self.name}: one printed template per layout")
        return self


class GrammarSpec(_Strict):
    """The whole grammar file."""

    version: str
    alphabet: str
    equivalents: dict[str, str]
    accepted_for: dict[str, list[str]] = Field(
        description="Characters a plate may be written with in place of another (same plate)."
    )
    separators: str
    provinces: list[ProvinceSpec]
    unused_codes: list[str]
    classes: dict[str, str]
    colour_classes: dict[str, dict[str, str]]
    shapes: list[ShapeSpec] = Field(min_length=1)
    non_standard: dict[str, str] = Field(
        description="Kinds of plate a reviewer may record outside every shape: kind → label."
    )
    confusions: dict[str, list[str]]
    confusion_weight: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _references(self) -> GrammarSpec:
        codes = [code for p in self.provinces for code in p.codes]
        if len(codes) != len(set(codes)) or set(codes) & set(self.unused_codes):
            raise ValueError("a province code appears twice or is also listed as unused")
        for shape in self.shapes:
            for seg in shape.segments:
                if seg.class_ is not None and seg.class_ not in self.classes:
                    raise ValueError(f"shape {shape.name}: unknown class {seg.class_!r}")
        allowed = set(self.alphabet)
        for chars in [*self.classes.values(), *self.confusions, *sum(self.confusions.values(), [])]:
            if not set(chars) <= allowed:
                raise ValueError(f"{chars!r} holds characters outside the alphabet")
        return self


def load_spec(path: Path | None = None) -> GrammarSpec:
    """Read and validate a grammar file (the packaged one by default)."""
    if path is None:
        return _default_spec()
    return _read(path)


def _read(path: Path) -> GrammarSpec:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return GrammarSpec.model_validate(data)


@functools.lru_cache(maxsize=1)
def _default_spec() -> GrammarSpec:
    return _read(DEFAULT_GRAMMAR_PATH)
