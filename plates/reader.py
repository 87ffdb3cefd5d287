"""The plate reader: an image (frame, vehicle crop or plate crop) in, ranked readings out.

Per plate candidate (`locate.py`), the lines found from character blobs are rectified and read
first; when that reading is weak, or only one short line was found, PP-OCR's text-line detector
looks again at the candidate's surroundings and its lines are read in order, top to bottom. A
plate crop (the packet's `plate_crop`) goes to the detector directly, padded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from plates.colour import classify_colour
from plates.grammar import Grammar, Parse, load_grammar
from plates.image import as_bgr
from plates.locate import Box, Candidate, find_candidates, iou, split_lines, warp
from plates.ocr import Image, LineRead, OcrSettings, PlateOcr, Quad
from plates.reading import ModelRef, PlateHint, PlateReading, Point
from protocol.enums import PlateColour

logger = logging.getLogger(__name__)

UNGRAMMATICAL_WEIGHT = 0.3  # a reading that fits no shape is at best a hint for the reviewer
PLATE_CHARS = 7  # the fewest characters of a common plate
SMALL_IMAGE = 800  # up to this size an image may be a vehicle crop: the detector looks at it whole
TALL_ROW = 2.2  # a detected "line" narrower than this many heights may be two lines
MAX_ROWS = 8  # rows of one region considered (pairs grow with the square)
SAME_LINE = 0.25  # rows whose centres are closer than this many heights are one line


@dataclass(frozen=True)
class ReaderSettings:
    """Reader tuning; the defaults are the benchmarked ones."""

    ocr: OcrSettings = field(default_factory=OcrSettings)
    max_candidates: int = 6  # plate candidates per image given to the OCR
    alternatives: int = 3  # readings kept per plate
    fast_accept: float = 0.5  # a blob-line reading this probable needs no second look
    line_margin: float = 0.25  # around a blob line, in character heights


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
        """Detect text lines in a region and read the best one- or two-line plate among them."""
        if min(region.shape[:2]) < 8:
            return None
        detected = _rows(self.ocr.detect_lines(region))
        extra = [q for q in known if all(iou(_box(q), _box(d)) < 0.5 for d in detected)]
        rows: list[_Row] = []
        for source, quad in enumerate(detected + extra):
            image = warp(region, quad)
            top, bottom = float(quad[:, 1].min()), float(quad[:, 1].max())
            rows.append(_Row((top + bottom) / 2, bottom - top, quad, image, source))
            # A squat row may be a whole two-line plate: read it whole and as two lines.
            if image.shape[1] < TALL_ROW * image.shape[0]:
                for i, half in enumerate(split_lines(image) or []):
                    centre = top + (bottom - top) * (0.25 + 0.5 * i)
                    rows.append(_Row(centre, (bottom - top) / 2, quad, half, source, half=True))
        if not rows:
            return None
        rows.sort(key=lambda r: r.centre)
        reads = self.ocr.read_lines([r.image for r in rows])
        best: _Plate | None = None
        for group in _hypotheses(rows):
            group_reads = [reads[i] for i in group]
            if len(group) == 2 and group_reads[0].text == group_reads[1].text:
                continue  # one line found twice (by the detector and by the blobs)
            quad = _union(rows[i].quad for i in group)
            plate = self._plate(group_reads, [rows[i].image for i in group], quad, hint)
            if best is None or plate.key > best.key:
                best = plate
        if best is not None:
            best.quad = best.quad + np.array(offset, dtype=np.float32)
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
    """A region around a candidate big enough to hold the whole plate (a missed second line)."""
    x1, y1, x2, y2 = cand.box
    h = max(line.height for line in cand.lines)
    grow_y = 0.6 * h if len(cand.lines) == 2 else 1.8 * h
    grow_x = 0.6 * h
    return (
        max(0, int(x1 - grow_x)),
        max(0, int(y1 - grow_y)),
        min(shape[1], int(x2 + grow_x)),
        min(shape[0], int(y2 + grow_y)),
    )


def _order(points: np.ndarray) -> Quad:
    """Four points as top-left, top-right, bottom-right, bottom-left."""
    s, d = points.sum(axis=1), points[:, 1] - points[:, 0]
    return np.array(
        [points[s.argmin()], points[d.argmin()], points[s.argmax()], points[d.argmax()]],
        dtype=np.float32,
    )


def _union(quads: object) -> Quad:
    points = np.concatenate(list(quads)).astype(np.float32)  # type: ignore[call-overload]
    return _order(cv2.boxPoints(cv2.minAreaRect(points)))


def _rows(quads: list[Quad]) -> list[Quad]:
    """Detected boxes merged into rows (pieces of one line side by side), top to bottom."""
    rows: list[list[Quad]] = []
    for quad in sorted(quads, key=lambda q: float(q[:, 1].mean())):
        cy, h = float(quad[:, 1].mean()), float(np.ptp(quad[:, 1]))
        for row in rows:
            ry = float(np.mean([q[:, 1].mean() for q in row]))
            rh = float(np.mean([np.ptp(q[:, 1]) for q in row]))
            if abs(cy - ry) < 0.5 * min(h, rh):
                row.append(quad)
                break
        else:
            rows.append([quad])
    return [_union(row) if len(row) > 1 else _order(row[0]) for row in rows]


@dataclass(frozen=True)
class _Row:
    """A text line found in a region: where it is, its rectified image, where it came from."""

    centre: float
    height: float
    quad: Quad
    image: Image
    source: int  # rows split from one detected block share it
    half: bool = False


def _hypotheses(rows: list[_Row]) -> list[tuple[int, ...]]:
    """Which rows (top to bottom) may form the plate: each alone, and each with one below it.

    Two finds of one line (the detector's and the blobs') never pair, nor a block with a half
    of itself.
    """
    n = min(len(rows), MAX_ROWS)
    pairs: list[tuple[int, ...]] = [
        (i, j)
        for i in range(n)
        for j in range(i + 1, n)
        if rows[j].centre - rows[i].centre >= SAME_LINE * min(rows[i].height, rows[j].height)
        and (rows[i].source != rows[j].source or (rows[i].half and rows[j].half))
    ]
    singles: list[tuple[int, ...]] = [(i,) for i in range(n)]
    return singles + pairs


def _distinct(plates: list[_Plate]) -> list[_Plate]:
    """One plate per place: overlapping finds keep the best scored."""
    kept: list[_Plate] = []
    for plate in sorted(plates, key=lambda p: p.key, reverse=True):
        box = _box(plate.quad)
        if all(_overlap(box, _box(k.quad)) < 0.3 for k in kept):
            kept.append(plate)
    return kept


def _box(quad: Quad) -> Box:
    return (
        float(quad[:, 0].min()),
        float(quad[:, 1].min()),
        float(quad[:, 0].max()),
        float(quad[:, 1].max()),
    )


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
