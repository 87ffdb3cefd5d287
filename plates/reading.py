"""What the reader returns: ranked plate readings, and the hint a caller may give it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from protocol.enums import PlateColour, VehicleClass
from protocol.evidence import PlateCandidate

Box = tuple[float, float, float, float]
Point = tuple[float, float]

READER_NAME = "trafficwatch-plates"
READER_VERSION = "1.0"
AUTO_ACCEPT_CONFIDENCE = 0.9
"""A reading at or above this confidence may be taken without a reviewer's look."""


@dataclass(frozen=True)
class ModelRef:
    """A model the reader used: its name and the sha256 of its file."""

    name: str
    sha256: str


@dataclass(frozen=True)
class PlateHint:
    """What the caller knows about the image; every field is optional."""

    vehicle: VehicleClass | None = None  # the detector's class: decides car vs motorbike shapes
    lines: Literal[1, 2] | None = None  # the plate's line count, when known
    region: Box | None = None  # where the vehicle is in the image (pixels): plates sit low on it
    plate_crop: bool = False  # the image is a crop of the plate itself (e.g. a packet's plate_crop)


@dataclass(frozen=True)
class PlateReading:
    """One candidate reading of one plate in the image."""

    text: str  # compact: upper case, no separators, `Đ` kept
    printed: str  # as printed: `73A-123.45`, `73-B1 123.45`
    lines: Literal[1, 2]
    colour: PlateColour | None
    confidence: float  # 0..1; AUTO_ACCEPT_CONFIDENCE and above may skip review
    box: Box  # the plate in image pixels (x1, y1, x2, y2)
    quad: tuple[
        Point, Point, Point, Point
    ]  # its corners: top-left, top-right, bottom-right, bottom-left
    shape: str | None  # the §5 shape it fits, None when it fits none (never auto-accepted)
    plate_index: int  # which plate of the image: alternatives of one plate share it
    raw: tuple[str, ...]  # the OCR's lines before correction
    corrected: tuple[int, ...]  # positions in `text` the grammar corrected
    models: tuple[ModelRef, ...]
    grammar_version: str
    reader: str = f"{READER_NAME}/{READER_VERSION}"

    @property
    def grammatical(self) -> bool:
        """Whether the text fits a §5 shape."""
        return self.shape is not None

    @property
    def auto_accept(self) -> bool:
        """Whether the reading is confident enough to skip review."""
        return self.grammatical and self.confidence >= AUTO_ACCEPT_CONFIDENCE

    def to_candidate(self) -> PlateCandidate:
        """This reading as an evidence packet's plate candidate (read at the edge)."""
        return PlateCandidate(
            text=self.text,
            printed=self.printed,
            lines=self.lines,
            colour=self.colour,
            confidence=round(self.confidence, 4),
            box=self.box,
            reader_name=READER_NAME,
            reader_version=f"{READER_VERSION}; grammar {self.grammar_version}",
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the reading, with the models that made it."""
        return {
            "text": self.text,
            "printed": self.printed,
            "lines": self.lines,
            "colour": self.colour.value if self.colour else None,
            "confidence": round(self.confidence, 4),
            "box": [round(v, 1) for v in self.box],
            "shape": self.shape,
            "plate_index": self.plate_index,
            "raw": list(self.raw),
            "corrected": list(self.corrected),
            "models": [{"name": m.name, "sha256": m.sha256} for m in self.models],
            "grammar_version": self.grammar_version,
            "reader": self.reader,
        }
