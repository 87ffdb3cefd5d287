"""Finding plates in a frame or vehicle crop: character blobs → text lines → plate candidates.

Classical and cheap (a few milliseconds a frame), so that the neural models run only on plate
candidates: adaptive thresholds in both polarities (dark on white or yellow, white on blue or red)
give character-sized blobs; blobs of one height on one baseline make a text line; a line, or two
stacked lines of one character height, make a plate candidate, scored by plate geometry and, when
the vehicle's box is known, by the plate's usual place on it (low and central). Each line's quad
follows its characters' tops and bottoms, which corrects roll and keystone (perspective).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from plates.ocr import Image, Quad

logger = logging.getLogger(__name__)

Box = tuple[float, float, float, float]
Floats = npt.NDArray[np.floating[Any]]
WORK_MAX_SIDE = 960  # frames are searched at this size; plates stay several blobs high
WORK_MIN_SIDE = 240  # small crops are enlarged so that 20 px plates still give blobs
MIN_BLOB_H = 7
JOIN_GAP = 2.0  # times the character height: the widest gap a separator leaves in a line
SIDE_MARGIN = 2.4  # times the vertical margin: a character the blobs missed at an end is kept


@dataclass(frozen=True)
class TextLine:
    """Characters on one baseline: their boxes (x, y, w, h) in image pixels, left to right."""

    chars: npt.NDArray[np.float32]
    box: Box  # bounding box (x1, y1, x2, y2)
    height: float  # median character height

    @classmethod
    def of(cls, chars: npt.NDArray[np.float32]) -> TextLine:
        """A line from its character boxes."""
        box = (
            float(chars[:, 0].min()),
            float(chars[:, 1].min()),
            float((chars[:, 0] + chars[:, 2]).max()),
            float((chars[:, 1] + chars[:, 3]).max()),
        )
        return cls(chars, box, float(np.median(chars[:, 3])))

    def quad(self, margin: float = 0.18, span: tuple[float, float] | None = None) -> Quad:
        """Corners following the characters' tops and bottoms, with a margin around them.

        `span` widens the line to an x range (a plate's other line): a character the blobs
        missed at either end is then still read.
        """
        c = self.chars
        cx = c[:, 0] + c[:, 2] / 2
        tops, bottoms = c[:, 1], c[:, 1] + c[:, 3]
        x1, _, x2, _ = self.box
        if span is not None:
            x1, x2 = min(x1, span[0]), max(x2, span[1])
        h = self.height
        x1, x2 = x1 - margin * h * SIDE_MARGIN, x2 + margin * h * SIDE_MARGIN
        top = _fit(cx, tops, x1, x2)
        bottom = _fit(cx, bottoms, x1, x2)
        pad = margin * h
        return np.array(
            [[x1, top[0] - pad], [x2, top[1] - pad], [x2, bottom[1] + pad], [x1, bottom[0] + pad]],
            dtype=np.float32,
        )


@dataclass(frozen=True)
class Candidate:
    """A possible plate: one or two text lines (top first), a prior score and its box."""

    lines: tuple[TextLine, ...]
    score: float

    @property
    def box(self) -> Box:
        """The lines' union, grown by a margin to the plate's likely edge."""
        boxes = np.array([line.box for line in self.lines])
        h = max(line.height for line in self.lines)
        return (
            float(boxes[:, 0].min() - 0.35 * h),
            float(boxes[:, 1].min() - 0.3 * h),
            float(boxes[:, 2].max() + 0.35 * h),
            float(boxes[:, 3].max() + 0.3 * h),
        )

    @property
    def span(self) -> tuple[float, float]:
        """The x range of all lines."""
        return (min(ln.box[0] for ln in self.lines), max(ln.box[2] for ln in self.lines))

    def line_quads(self, margin: float) -> list[Quad]:
        """Each line's quad, widened to the plate's x range."""
        return [line.quad(margin, self.span) for line in self.lines]

    def quad(self) -> Quad:
        """The plate's corners: the top line's top edge and the bottom line's bottom edge."""
        top, bottom = self.lines[0].quad(0.5, self.span), self.lines[-1].quad(0.5, self.span)
        x1 = min(top[0, 0], bottom[3, 0])
        x2 = max(top[1, 0], bottom[2, 0])
        return np.array(
            [[x1, top[0, 1]], [x2, top[1, 1]], [x2, bottom[2, 1]], [x1, bottom[3, 1]]],
            dtype=np.float32,
        )


def _fit(x: Floats, y: Floats, x1: float, x2: float) -> Box:
    """y at x1 and x2 of a robust straight line through (x, y)."""
    if len(x) < 3 or float(np.ptp(x)) < 1.0:
        v = float(np.median(y))
        return (v, v, 0.0, 0.0)
    slope, icpt = np.polyfit(x, y, 1)
    resid = np.abs(y - (slope * x + icpt))
    keep = resid <= max(2.0, float(np.median(resid)) * 2.5)
    if keep.sum() >= 2 and float(np.ptp(x[keep])) >= 1.0:
        slope, icpt = np.polyfit(x[keep], y[keep], 1)
    return (float(slope * x1 + icpt), float(slope * x2 + icpt), 0.0, 0.0)


def find_candidates(image: Image, region: Box | None = None, limit: int = 6) -> list[Candidate]:
    """Plate candidates in an image, best first (boxes and quads in image pixels)."""
    gray: npt.NDArray[np.uint8] = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.uint8)
    h, w = gray.shape
    scale = min(1.0, WORK_MAX_SIDE / max(h, w))
    if min(h, w) * scale < WORK_MIN_SIDE:
        scale = min(4.0, WORK_MIN_SIDE / min(h, w))
    if scale != 1.0:
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        gray = np.asarray(
            cv2.resize(gray, None, fx=scale, fy=scale, interpolation=interp), np.uint8
        )
    lines: list[TextLine] = []
    for polarity in (False, True):
        for block in _block_sizes(gray.shape):
            blobs = _blobs(gray, block, polarity)
            lines += [TextLine.of(c / scale) for c in _lines(blobs)]
    lines = _dedupe_lines(lines)
    candidates = _pair(lines)
    if region is not None:
        candidates = [_with_region_prior(c, region) for c in candidates]
    candidates.sort(key=lambda c: -c.score)
    return _suppress(candidates)[:limit]


def _block_sizes(shape: tuple[int, ...]) -> list[int]:
    side = min(shape[:2])
    return sorted({max(11, int(side / k) | 1) for k in (16, 6)})


def _blobs(gray: npt.NDArray[np.uint8], block: int, bright_text: bool) -> npt.NDArray[np.float32]:
    """Character-like connected components as rows (x, y, w, h)."""
    # Characters are the pixels clearly darker than their neighbourhood (of the negative, for
    # light characters on blue or red plates).
    source = cv2.bitwise_not(gray) if bright_text else gray
    binary = cv2.adaptiveThreshold(
        source, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 7
    )
    _, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    x, y, w, h, area = (stats[1:, i].astype(np.float32) for i in range(5))
    keep = (
        (h >= MIN_BLOB_H)
        & (h <= gray.shape[0] * 0.6)
        & (w >= 0.12 * h)
        & (w <= 1.1 * h)
        & (area >= 0.15 * w * h)
        & (area <= 0.95 * w * h)
    )
    return np.asarray(np.stack([x, y, w, h], axis=1)[keep], dtype=np.float32)


def _lines(blobs: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
    """Chains of blobs of one height on one baseline, each left to right (3 or more)."""
    n = len(blobs)
    if n < 3 or n > 4000:
        return []
    x, y, w, h = blobs.T
    cy = y + h / 2
    hmax = np.maximum(h[:, None], h[None, :])
    gap = x[None, :] - (x + w)[:, None]
    ok = (
        (np.minimum(h[:, None], h[None, :]) / hmax >= 0.7)
        & (np.abs(cy[:, None] - cy[None, :]) <= 0.3 * hmax)
        & (gap >= -0.15 * hmax)
        & (gap <= 0.9 * hmax)
        & (x[None, :] > x[:, None])
    )
    gap = np.where(ok, gap, np.inf)
    right = np.where(np.isfinite(gap.min(axis=1)), gap.argmin(axis=1), -1)
    # Each blob keeps only its nearest right neighbour, and that neighbour only its nearest left.
    left = np.full(n, -1)
    best = np.full(n, np.inf)
    for i in np.flatnonzero(right >= 0):
        j = right[i]
        if gap[i, j] < best[j]:
            best[j], left[j] = gap[i, j], i
    chains = []
    for start in np.flatnonzero(left < 0):
        chain = [int(start)]
        while right[chain[-1]] >= 0 and left[right[chain[-1]]] == chain[-1]:
            chain.append(int(right[chain[-1]]))
        if len(chain) >= 2:
            chains.append(blobs[chain])
    return [c for c in _join(chains) if len(c) >= 3]


def _join(chains: list[npt.NDArray[np.float32]]) -> list[npt.NDArray[np.float32]]:
    """Pieces of one line joined across a wider gap: a dash or dot between groups (`73A-123.45`,
    `80-011-NG-01`) leaves more space than between two characters."""
    pieces = sorted(chains, key=lambda c: float(c[0, 0]))
    joined: list[npt.NDArray[np.float32]] = []
    for piece in pieces:
        for i, line in enumerate(joined):
            if _continues(line, piece):
                joined[i] = np.concatenate([line, piece])
                break
        else:
            joined.append(piece)
    return joined


def _continues(line: npt.NDArray[np.float32], piece: npt.NDArray[np.float32]) -> bool:
    """Whether a piece starts where a line (left of it) ends, on its baseline, at its height."""
    end, start = line[-1], piece[0]
    h1, h2 = float(np.median(line[:, 3])), float(np.median(piece[:, 3]))
    if min(h1, h2) / max(h1, h2) < 0.75:
        return False
    gap = float(start[0] - (end[0] + end[2]))
    rise = abs(float(start[1] + start[3] / 2 - (end[1] + end[3] / 2)))
    return -0.15 * h1 <= gap <= JOIN_GAP * h1 and rise <= 0.3 * h1


def _dedupe_lines(lines: list[TextLine]) -> list[TextLine]:
    """One line where several thresholds found the same one (the one with most characters)."""
    kept: list[TextLine] = []
    for line in sorted(lines, key=lambda ln: -len(ln.chars)):
        if all(iou(line.box, other.box) < 0.5 for other in kept):
            kept.append(line)
    return kept


def _pair(lines: list[TextLine]) -> list[Candidate]:
    """One-line candidates, and two-line ones where a line sits right under a similar one."""
    out = [Candidate((line,), _line_score(line)) for line in lines if len(line.chars) >= 4]
    for top in lines:
        for bottom in lines:
            if top is bottom or not _stacked(top, bottom):
                continue
            score = (_line_score(top) + _line_score(bottom)) / 2 + 1.0
            out.append(Candidate((top, bottom), score))
    return out


def _stacked(top: TextLine, bottom: TextLine) -> bool:
    h1, h2 = top.height, bottom.height
    if min(h1, h2) / max(h1, h2) < 0.65:
        return False
    t, b = top.box, bottom.box
    # Centre to centre: tilted lines' boxes overlap although the lines do not.
    rise = (b[1] + b[3]) / 2 - (t[1] + t[3]) / 2
    overlap = min(t[2], b[2]) - max(t[0], b[0])
    narrow = min(t[2] - t[0], b[2] - b[0])
    return 0.9 * h1 <= rise <= 2.0 * h1 and overlap >= 0.6 * narrow


def _line_score(line: TextLine) -> float:
    """Plate-likeness of a line: 4-10 characters of one height."""
    n = len(line.chars)
    heights = line.chars[:, 3]
    spread = float(np.std(heights) / max(1.0, float(np.mean(heights))))
    count = 1.0 if 3 <= n <= 10 else 0.3
    return count - spread


def _with_region_prior(cand: Candidate, region: Box) -> Candidate:
    """Plates sit in the lower, central part of a vehicle's box."""
    x1, y1, x2, y2 = cand.box
    rx1, ry1, rx2, ry2 = region
    cx = ((x1 + x2) / 2 - rx1) / max(1.0, rx2 - rx1)
    cy = ((y1 + y2) / 2 - ry1) / max(1.0, ry2 - ry1)
    inside = 0.0 <= cx <= 1.0 and 0.0 <= cy <= 1.0
    prior = (1.0 - abs(cx - 0.5)) * (0.5 + 0.5 * cy) if inside else 0.2
    return Candidate(cand.lines, cand.score * prior)


def _suppress(cands: list[Candidate]) -> list[Candidate]:
    """Drop candidates overlapping a better one."""
    kept: list[Candidate] = []
    for cand in cands:
        if all(iou(cand.box, k.box) < 0.3 for k in kept):
            kept.append(cand)
    return kept


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def warp(image: Image, quad: Quad, min_height: int = 0) -> Image:
    """The quad's content rectified to a rectangle (perspective correction).

    A quad lower than `min_height` is enlarged on the way (one interpolation, not two).
    """
    q = quad.astype(np.float32)
    w = float(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[2] - q[3])))
    h = float(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2])))
    interpolation = cv2.INTER_LINEAR
    if 0 < h < min_height:
        w, h = w * min_height / h, float(min_height)
        interpolation = cv2.INTER_CUBIC
    size = (max(2, round(w)), max(2, round(h)))
    dst = np.array([[0, 0], [size[0], 0], [size[0], size[1]], [0, size[1]]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(q, dst)
    out = cv2.warpPerspective(
        image, matrix, size, flags=interpolation, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(out, dtype=np.uint8)
