"""The plate reader: an image (frame, vehicle crop or plate crop) in, ranked readings out.

Per plate candidate (`locate.py`), the lines found from character blobs are rectified and read
first; when that reading is weak, or only one short line was found, PP-OCR's text-line detector
looks again at the candidate's surroundings and its rows (`rows.py`: found lines, the halves of
a squat block, a lone line's neighbours) are read and grouped, top to bottom, into the one- or
two-line plate the grammar likes best; a result still weak gets a second detector look with
more pixels. A plate crop (the packet's `plate_crop`) goes to the detector directly, padded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from plates.colour import classify_colour
from plates.grammar import Grammar, Parse, load_grammar
from plates.image import as_bgr
from plates.locate import Box, Candidate, find_candidates, iou, warp
from plates.ocr import Image, LineRead, OcrSettings, PlateOcr, Quad
from plates.reading import ModelRef, PlateHint, PlateReading, Point
from plates.rows import hypotheses, merge_rows, quad_box, rows_of, union
from protocol.enums import PlateColour

logger = logging.getLogger(__name__)

UNGRAMMATICAL_WEIGHT = 0.3  # a reading that fits no shape is at best a hint for the reviewer
PLATE_CHARS = 7  # the fewest characters of a common plate
LINE_SPAN = 9.0  # character heights: the longest one-line plate (`80-011-NG-01`) fits in it
SMALL_IMAGE = 800  # up to this size an image may be a vehicle crop: the detector looks at it whole


@dataclass(frozen=True)
class ReaderSettings:
    """Reader tuning; the defaults are the benchmarked ones."""

    ocr: OcrSettings = field(default_factory=OcrSettings)
    max_candidates: int = 6  # plate candidates per image given to the OCR
    alternatives: int = 3  # readings kept per plate
    fast_accept: float = 0.5  # a blob-line reading this probable needs no second look
    line_margin: float = 0.25  # around a blob line, in character heights
    second_look: float = 2.0  # detector pixels of a weak region's second look, times det_pixels


@dataclass
class _Plate:
    """One plate as read: its parses (best first), raw lines, quad and colour."""

    parses: list[Parse]
    raw: tuple[str, ...]
    quad: Quad
    lines: int
    colour: PlateColour | None
    fallback: float = 0.0  # confidence of the raw text when nothing parses

    @property
    def score(self) -> float:
        """The best reading's confidence."""
        return self.parses[0].probability if self.parses else self.fallback

    @property
    def key(self) -> tuple[bool, float]:
        """Ranks finds of one plate: any grammatical reading beats an ungrammatical one."""
        return (bool(self.parses), self.score)


class PlateReader:
    """Reads Vietnamese plates; thread-safe, load once and share."""

    def __init__(
        self, settings: ReaderSettings | None = None, grammar: Grammar | None = None
    ) -> None:
        self.settings = settings or ReaderSettings()
        self.grammar = grammar or load_grammar()
        self.ocr = PlateOcr(self.grammar, self.settings.ocr)

    @property
    def models(self) -> tuple[ModelRef, ...]:
        """The models every reading names."""
        return self.ocr.models

    def read(self, pixels: npt.NDArray[Any], hint: PlateHint | None = None) -> list[PlateReading]:
        """Ranked readings of the plates in a BGR (or grey, BGRA) uint8 image, boxes in its pixels.

        Raises `PlateImageError` for pixels that are no image (not uint8, wrong shape, huge).
        """
        hint = hint or PlateHint()
        image = as_bgr(pixels)
        if hint.plate_crop:
            return self._readings(self._read_crop(image, hint))
        h, w = image.shape[:2]
        cands = find_candidates(image, hint.region, self.settings.max_candidates)
        found = [self._read_candidate(image, cand, hint) for cand in cands]
        if not any(p and p.parses for p in found) and max(h, w) <= SMALL_IMAGE:
            found.append(self._read_region(image, hint, (0, 0)))  # a vehicle crop
        plates = _distinct([p for p in found if p is not None and p.score > 0])
        return self._readings(plates)

    def _read_crop(self, image: Image, hint: PlateHint) -> list[_Plate]:
        """A plate crop holds one plate: the detector's reading, or the blobs' if better."""
        found = [self._read_region(image, hint, (0, 0))]
        if not (found[0] and found[0].parses and found[0].score >= self.settings.fast_accept):
            cands = find_candidates(image, None, self.settings.max_candidates)
            found += [self._read_candidate(image, cand, hint) for cand in cands]
        plates = [p for p in found if p is not None and p.score > 0]
        return [max(plates, key=lambda p: p.key)] if plates else []

    # ---------------------------------------------------------------- per candidate

    def _read_candidate(self, image: Image, cand: Candidate, hint: PlateHint) -> _Plate | None:
        margin = self.settings.line_margin
        line_images = [warp(image, quad) for quad in cand.line_quads(margin)]
        reads = self.ocr.read_lines(line_images)
        plate = self._plate(reads, line_images, cand.quad(), hint)
        chars = sum(len(line.chars) for line in cand.lines)
        whole = len(cand.lines) == 2 or chars >= 7
        if plate.score >= self.settings.fast_accept and plate.parses and whole:
            return plate
        x1, y1, x2, y2 = _grow(cand, image.shape)
        # The detector's lines, and the blobs' where the detector saw none.
        offset = np.array([x1, y1], dtype=np.float32)
        known = [quad - offset for quad in cand.line_quads(margin)]
        second = self._read_region(image[y1:y2, x1:x2], hint, (x1, y1), known)
        if second is not None and second.key > plate.key:
            return second
        return plate

    def _read_region(
        self,
        region: Image,
        hint: PlateHint,
        offset: tuple[int, int],
        known: Sequence[Quad] = (),
    ) -> _Plate | None:
        """Detect text lines in a region and read the best one- or two-line plate among them.

        A weak result gets a second look with more detector pixels: on a small plate the
        detector, run small, boxes both lines as one or misses a short line.
        """
        if min(region.shape[:2]) < 8:
            return None
        best = self._region_plate(region, hint, known, self.settings.ocr.det_pixels)
        if best is None or not best.parses or best.score < self.settings.fast_accept:
            pixels = round(self.settings.ocr.det_pixels * self.settings.second_look)
            second = self._region_plate(region, hint, known, pixels)
            if second is not None and (best is None or second.key > best.key):
                best = second
        if best is not None:
            best.quad = best.quad + np.array(offset, dtype=np.float32)
        return best

    def _region_plate(
        self, region: Image, hint: PlateHint, known: Sequence[Quad], pixels: int
    ) -> _Plate | None:
        """The best plate among the rows the detector (at this budget) and the blobs found."""
        detected = merge_rows(self.ocr.detect_lines(region, pixels))
        extra = [q for q in known if all(iou(quad_box(q), quad_box(d)) < 0.5 for d in detected)]
        rows = rows_of(region, detected + extra)
        reads = self.ocr.read_lines([r.image for r in rows])
        best: _Plate | None = None
        for group in hypotheses(rows):
            group_reads = [reads[i] for i in group]
            if len(group) == 2 and group_reads[0].text == group_reads[1].text:
                continue  # one line found twice (by the detector and by the blobs)
            quad = union(rows[i].quad for i in group)
            plate = self._plate(group_reads, [rows[i].image for i in group], quad, hint)
            if best is None or plate.key > best.key:
                best = plate
        return best

    def _plate(
        self, reads: list[LineRead], images: list[Image], quad: Quad, hint: PlateHint
    ) -> _Plate:
        colour = classify_colour(images)
        if hint.lines is not None and hint.lines != len(reads):
            return _Plate([], tuple(r.text for r in reads), quad, len(reads), colour)
        parses = self.grammar.decode(
            [r.slots for r in reads],
            vehicle=hint.vehicle.value if hint.vehicle else None,
            colour=colour.value if colour else None,
            limit=self.settings.alternatives,
        )
        # Without a parse, prefer the hypothesis holding a plate's worth of characters.
        chars = sum(len(r.slots) for r in reads)
        mean = float(np.mean([r.confidence for r in reads])) if reads else 0.0
        fallback = UNGRAMMATICAL_WEIGHT * mean * min(1.0, chars / PLATE_CHARS)
        return _Plate(parses, tuple(r.text for r in reads), quad, len(reads), colour, fallback)

    # ---------------------------------------------------------------- results

    def _readings(self, plates: list[_Plate]) -> list[PlateReading]:
        out: list[PlateReading] = []
        for index, plate in enumerate(sorted(plates, key=lambda p: -p.score)):
            xs, ys = plate.quad[:, 0], plate.quad[:, 1]
            lines: Literal[1, 2] = 2 if plate.lines == 2 else 1
            template = PlateReading(
                text="",
                printed="",
                lines=lines,
                colour=plate.colour,
                confidence=0.0,
                box=(float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())),
                quad=_corners(plate.quad),
                shape=None,
                plate_index=index,
                raw=plate.raw,
                corrected=(),
                models=self.models,
                grammar_version=self.grammar.version,
            )
            out += [
                replace(
                    template,
                    text=parse.text,
                    printed=self.grammar.printed(parse, lines),
                    confidence=min(1.0, parse.probability),
                    shape=parse.shape,
                    corrected=parse.corrected,
                )
                for parse in plate.parses
            ]
            # Nothing fits a shape: the raw reading, for the reviewer to start from.
            text = self.grammar.compact("".join(c for c in "".join(plate.raw) if c != "?"))
            if not plate.parses and 4 <= len(text) <= 12:
                out.append(
                    replace(
                        template, text=text, printed=" ".join(plate.raw), confidence=plate.fallback
                    )
                )
        return sorted(out, key=lambda r: -r.confidence)


# -------------------------------------------------------------------- geometry helpers


def _corners(quad: Quad) -> tuple[Point, Point, Point, Point]:
    tl, tr, br, bl = ((float(x), float(y)) for x, y in quad)
    return tl, tr, br, bl


def _grow(cand: Candidate, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """A region around a candidate big enough to hold the whole plate: a missed second line, or
    the rest of a line whose groups the blobs found apart (a dash or dot between them)."""
    x1, y1, x2, y2 = cand.box
    h = max(line.height for line in cand.lines)
    grow_y = 0.6 * h if len(cand.lines) == 2 else 1.8 * h
    grow_x = 0.6 * h if len(cand.lines) == 2 else max(0.6 * h, (LINE_SPAN * h - (x2 - x1)) / 2)
    return (
        max(0, int(x1 - grow_x)),
        max(0, int(y1 - grow_y)),
        min(shape[1], int(x2 + grow_x)),
        min(shape[0], int(y2 + grow_y)),
    )


def _distinct(plates: list[_Plate]) -> list[_Plate]:
    """One plate per place: overlapping finds keep the best scored."""
    kept: list[_Plate] = []
    for plate in sorted(plates, key=lambda p: p.key, reverse=True):
        box = quad_box(plate.quad)
        if all(_overlap(box, quad_box(k.quad)) < 0.3 for k in kept):
            kept.append(plate)
    return kept


def _overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller > 0 else 0.0


_default: PlateReader | None = None
_default_lock = threading.Lock()


def default_reader() -> PlateReader:
    """The process's shared reader, made on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = PlateReader()
        return _default


def read_plates(image: npt.NDArray[Any], *, hint: PlateHint | None = None) -> list[PlateReading]:
    """Ranked plate readings in a BGR image (a frame, a vehicle crop or a plate crop)."""
    return default_reader().read(image, hint)
