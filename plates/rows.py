"""Text rows of a plate region, and which of them may make one plate.

The text-line detector's boxes are merged into rows; a squat row may be a whole two-line plate,
so it is also split at the gap between its lines; and a row with no other row stacked on it gets
a hypothetical neighbour above and below, at a plate's line pitch: on small two-line plates the
detector and the character blobs often see only one line (a short line such as a foreign plate's
`39`, or an upper line whose letter merges with the plate's frame). The grammar then decides which
group of rows reads as a plate; an empty neighbour reads as nothing and parses as nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from plates.locate import Box, warp
from plates.ocr import Image, Quad

TALL_ROW = 2.2  # a row narrower than this many heights may be two lines
MAX_ROWS = 8  # found rows of one region considered (pairs grow with the square)
SAME_LINE = 0.25  # rows whose centres are closer than this many heights are one line
LINE_PITCH = 0.9  # a neighbour line's offset, in row heights (a row holds its line's margins)
STACKED = (0.6, 2.0)  # centre offsets, in row heights, at which another row is a neighbour line
SPLIT_BAND = 0.2  # rows of the edge profile above this share of its peak hold text
SPLIT_DEPTH = 0.5  # the gap between two lines is at most this share of the weaker line's peak,
SPLIT_DEPTH_SMALL = 0.8  # or of this share in a block lower than SMALL_BLOCK pixels, where a
SMALL_BLOCK = 64  # pixel or two of blurred gap leaves a shallow valley

RowKind = Literal["row", "half", "neighbour"]


@dataclass(frozen=True)
class Row:
    """A text line found in a region: where it is, its rectified image, where it came from."""

    centre: float
    height: float
    quad: Quad
    image: Image
    source: int  # rows split from, or hypothesised next to, one found row share it
    kind: RowKind = "row"


def rows_of(region: Image, found: Sequence[Quad]) -> list[Row]:
    """Rows of a region from its line quads, with their halves and neighbours, top to bottom."""
    rows: list[Row] = []
    for source, quad in enumerate(found):
        image = warp(region, quad)
        top, bottom = float(quad[:, 1].min()), float(quad[:, 1].max())
        rows.append(Row((top + bottom) / 2, bottom - top, quad, image, source))
        if image.shape[1] < TALL_ROW * image.shape[0]:
            for i, half in enumerate(split_lines(image) or []):
                centre = top + (bottom - top) * (0.25 + 0.5 * i)
                rows.append(Row(centre, (bottom - top) / 2, quad, half, source, "half"))
    alone = [r for r in rows if r.kind == "row" and not _has_neighbour(r, rows)]
    for row in alone[:MAX_ROWS]:
        rows += _neighbours(region, row)
    return sorted(rows, key=lambda r: r.centre)


def _has_neighbour(row: Row, rows: Iterable[Row]) -> bool:
    """Whether another found row sits a line above or below this one, overlapping it."""
    lo, hi = STACKED
    x1, _, x2, _ = quad_box(row.quad)
    for other in rows:
        if other.source == row.source or other.kind != "row":
            continue
        offset = abs(other.centre - row.centre) / max(1.0, min(row.height, other.height))
        ox1, _, ox2, _ = quad_box(other.quad)
        overlap = min(x2, ox2) - max(x1, ox1)
        if lo <= offset <= hi and overlap >= 0.5 * min(x2 - x1, ox2 - ox1):
            return True
    return False


def _neighbours(region: Image, row: Row) -> list[Row]:
    """Where the other line of a two-line plate would be, above and below a lone row."""
    q = row.quad
    down = ((q[3] - q[0]) + (q[2] - q[1])) / 2 * LINE_PITCH  # follows the row's tilt
    h, _ = region.shape[:2]
    out = []
    for sign in (-1.0, 1.0):
        quad = (q + sign * down).astype(np.float32)
        centre = row.centre + sign * float(down[1])
        if 0 <= centre <= h:
            out.append(Row(centre, row.height, quad, warp(region, quad), row.source, "neighbour"))
    return out


def hypotheses(rows: Sequence[Row]) -> list[tuple[int, ...]]:
    """Which rows (top to bottom) may form the plate: each found row alone, and pairs.

    Two finds of one line (the detector's and the blobs') never pair, nor a row with a half of
    itself; halves pair with each other, a hypothetical neighbour only with its own row.
    """
    found = [i for i, r in enumerate(rows) if r.kind != "neighbour"][:MAX_ROWS]
    kept = set(found)
    kept |= {
        i
        for i, r in enumerate(rows)
        if r.kind == "neighbour" and any(rows[j].source == r.source for j in found)
    }
    order = sorted(kept)
    pairs: list[tuple[int, ...]] = [
        (i, j)
        for a, i in enumerate(order)
        for j in order[a + 1 :]
        if rows[j].centre - rows[i].centre >= SAME_LINE * min(rows[i].height, rows[j].height)
        and _may_pair(rows[i], rows[j])
    ]
    singles: list[tuple[int, ...]] = [(i,) for i in found]
    return singles + pairs


def _may_pair(a: Row, b: Row) -> bool:
    kinds = {a.kind, b.kind}
    if "neighbour" in kinds:
        return a.source == b.source and kinds == {"neighbour", "row"}
    if a.source == b.source:
        return kinds == {"half"}
    return True


def split_lines(block: Image) -> list[Image] | None:
    """The two lines of a rectified two-line block, split at the ink valley between them.

    The text-line detector, run small, sometimes boxes a whole two-line plate as one line. On a
    small plate the gap between the lines is a pixel or two and blurred: a shallow valley.
    """
    w = block.shape[1]
    # Characters are full of vertical strokes, the gap between lines has none; the middle
    # columns only, as the block's ends may hold the plate's frame or the vehicle.
    gray = cv2.cvtColor(block[:, w // 5 : w - w // 5], cv2.COLOR_BGR2GRAY)
    profile = np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)).mean(axis=1)
    inked = np.flatnonzero(profile >= SPLIT_BAND * float(profile.max(initial=0.0)))
    if len(inked) < 4:
        return None
    first, last = int(inked[0]), int(inked[-1])
    lo, hi = first + int(0.3 * (last - first)), first + int(0.7 * (last - first)) + 1
    if hi - lo < 2:
        return None
    cut = lo + int(np.argmin(profile[lo:hi]))
    top, bottom = float(profile[first:cut].max()), float(profile[cut : last + 1].max())
    h = len(profile)
    depth = SPLIT_DEPTH_SMALL if h < SMALL_BLOCK else SPLIT_DEPTH
    if profile[cut] > depth * min(top, bottom):
        return None
    pad = max(1, h // 20)
    return [block[: cut + pad], block[max(0, cut - pad) :]]


def order(points: np.ndarray) -> Quad:
    """Four points as top-left, top-right, bottom-right, bottom-left."""
    s, d = points.sum(axis=1), points[:, 1] - points[:, 0]
    return np.array(
        [points[s.argmin()], points[d.argmin()], points[s.argmax()], points[d.argmax()]],
        dtype=np.float32,
    )


def union(quads: Iterable[Quad]) -> Quad:
    """The smallest turned rectangle holding every quad."""
    points = np.concatenate(list(quads)).astype(np.float32)
    return order(cv2.boxPoints(cv2.minAreaRect(points)))


def merge_rows(quads: list[Quad]) -> list[Quad]:
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
    return [union(row) if len(row) > 1 else order(row[0]) for row in rows]


def quad_box(quad: Quad) -> Box:
    """The axis-aligned box around a quad."""
    return (
        float(quad[:, 0].min()),
        float(quad[:, 1].min()),
        float(quad[:, 0].max()),
        float(quad[:, 1].max()),
    )
