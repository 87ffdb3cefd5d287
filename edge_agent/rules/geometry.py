"""Plane geometry for the rules: where a vehicle stands, lines it crosses, lanes it is in.

A vehicle's position is the bottom centre of its box: its ground contact nearest the camera, the
point a technician draws the stop line and lanes against. Pixel coordinates have y down, so image
angles turn clockwise on screen: a right turn is a positive turn in either camera direction.

Boxes jitter by a few pixels even for a vehicle at rest, so a side of a line is only taken when a
point is clearly on it (a hysteresis band of `margin` pixels): a vehicle stopped on the line
stays "on the line" and never crosses it back and forth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from edge_agent.rules.types import Box, TrackObs

Point = tuple[float, float]
Points = npt.NDArray[np.float64]  # n × 2


def ground_point(box: Box) -> Point:
    """The bottom centre of a box."""
    return ((box[0] + box[2]) / 2, box[3])


def ground_points(observations: Sequence[TrackObs]) -> Points:
    """Bottom centres of every observation, n × 2."""
    boxes = np.asarray([o.box for o in observations], dtype=np.float64).reshape(-1, 4)
    return np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]], axis=1)


def box_heights(observations: Sequence[TrackObs]) -> npt.NDArray[np.float64]:
    """Height of every observation's box."""
    boxes = np.asarray([o.box for o in observations], dtype=np.float64).reshape(-1, 4)
    return boxes[:, 3] - boxes[:, 1]


def unit_vector(deg: float) -> Point:
    """The unit vector of an image angle (0 = +x, 90 = +y, down the image)."""
    rad = math.radians(deg)
    return (math.cos(rad), math.sin(rad))


def heading_deg(dx: float, dy: float) -> float:
    """The image angle of a displacement, in [0, 360)."""
    return math.degrees(math.atan2(dy, dx)) % 360.0


def turn_deg(from_deg: float, to_deg: float) -> float:
    """Signed turn from one heading to another in (-180, 180]; positive = clockwise (right)."""
    turn = (to_deg - from_deg) % 360.0
    return turn - 360.0 if turn > 180.0 else turn


def interpolate_time(a: datetime, b: datetime, fraction: float) -> datetime:
    """The time `fraction` of the way from `a` to `b`."""
    return a + timedelta(seconds=(b - a).total_seconds() * fraction)


def points_in_polygon(points: Points, polygon: Sequence[Point]) -> npt.NDArray[np.bool_]:
    """Which points lie inside the polygon (even-odd rule, vectorised over points)."""
    x, y = points[:, 0], points[:, 1]
    inside = np.zeros(len(points), dtype=bool)
    for (xi, yi), (xj, yj) in zip(polygon, list(polygon[-1:]) + list(polygon[:-1]), strict=True):
        spans = (yi > y) != (yj > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            cross_x = (xj - xi) * (y - yi) / (yj - yi) + xi
        inside ^= spans & (x < cross_x)
    return inside


@dataclass(frozen=True)
class Crossing:
    """A crossing of a line segment between two consecutive observations."""

    before: int  # index of the last observation on the side it came from
    after: int  # index of the first observation on the other side
    fraction: float  # where between the two the line was crossed, 0..1
    forward: bool  # crossed in the direction of the segment's normal
    segment: int = 0  # which segment of a polyline

    def time(self, observations: Sequence[TrackObs]) -> datetime:
        """When the line was crossed (interpolated between the two frames)."""
        a, b = observations[self.before].t, observations[self.after].t
        return interpolate_time(a, b, self.fraction)


@dataclass(frozen=True)
class Segment:
    """A directed line segment with the unit normal that counts as "forward"."""

    a: Point
    b: Point
    normal: Point

    @classmethod
    def toward(cls, a: Point, b: Point, direction_deg: float | None = None) -> Segment:
        """The segment a→b, its normal turned to agree with `direction_deg` when given."""
        dx, dy = b[0] - a[0], b[1] - a[1]
        length = math.hypot(dx, dy)
        normal = (-dy / length, dx / length)
        if direction_deg is not None:
            ux, uy = unit_vector(direction_deg)
            if normal[0] * ux + normal[1] * uy < 0:
                normal = (-normal[0], -normal[1])
        return cls(a, b, normal)

    def signed_distance(self, points: Points) -> npt.NDArray[np.float64]:
        """Distance of each point from the line, positive on the normal's side."""
        rel = points - np.asarray(self.a)
        distance: npt.NDArray[np.float64] = rel @ np.asarray(self.normal)
        return distance

    def along(self, point: Point) -> float:
        """Where a point projects onto the segment, in pixels from `a`."""
        dx, dy = self.b[0] - self.a[0], self.b[1] - self.a[1]
        length = math.hypot(dx, dy)
        return ((point[0] - self.a[0]) * dx + (point[1] - self.a[1]) * dy) / length

    @property
    def length(self) -> float:
        """Length in pixels."""
        return math.hypot(self.b[0] - self.a[0], self.b[1] - self.a[1])


def seconds_since_first(observations: Sequence[TrackObs]) -> npt.NDArray[np.float64]:
    """Each observation's time in seconds after the first."""
    t0 = observations[0].t
    return np.asarray([(o.t - t0).total_seconds() for o in observations], dtype=np.float64)


@dataclass(frozen=True)
class Band:
    """The hysteresis band around a line, per observation: firm behind at `-margins`, firm past
    at `commits`; a stay in the band longer than `dwell_s` is a stop on the line."""

    margins: npt.NDArray[np.float64]
    commits: npt.NDArray[np.float64]
    dwell_s: float = 1.0


def crossings(
    points: Points,
    times: npt.NDArray[np.float64],
    segment: Segment,
    band: Band,
    slack_px: float = 0.0,
) -> list[Crossing]:
    """Every crossing of the segment, with hysteresis.

    In the band a point keeps the side it had; a change of firm side is a crossing if the line
    was crossed within the segment (with `slack_px` either end). A vehicle that drove through is
    taken at the moment it crossed the line itself. One that stayed in the band for `dwell_s`
    (stopped on the line) crossed only when it left the band: what a jittering box did while it
    stood there is not a crossing.
    """
    distance = segment.signed_distance(points)
    found: list[Crossing] = []
    side, firm = 0, 0  # current firm side, and the last index where it was firm
    for k in range(len(points)):
        new = (
            -1 if distance[k] <= -band.margins[k] else (1 if distance[k] >= band.commits[k] else 0)
        )
        if new == 0:
            continue
        if side != 0 and new != side:
            stayed = times[k] - times[firm] > band.dwell_s
            pair = _last_pass(distance, band.margins, firm, k, new, stayed)
            crossing = _crossing(points, segment, distance, pair, new > 0, slack_px)
            if crossing is not None:
                found.append(crossing)
        side, firm = new, k
    return found


def _last_pass(
    distance: npt.NDArray[np.float64],
    margins: npt.NDArray[np.float64],
    firm: int,
    k: int,
    new: int,
    stayed: bool,
) -> tuple[int, int, float]:
    """The last pair of observations between `firm` and `k` across the line (or, after a stop
    in the band, across the band's far edge), and the level crossed."""
    # One level for the whole search: per-frame margins differ, and a pass must not slip between.
    level = new * float(np.median(margins[firm : k + 1])) if stayed else 0.0
    for m in range(k, firm, -1):
        before, after = distance[m - 1] - level, distance[m] - level
        if (before < 0 <= after) if new > 0 else (after <= 0 < before):
            return (m - 1, m, level)
    return (k - 1, k, level)


def _crossing(
    points: Points,
    segment: Segment,
    distance: npt.NDArray[np.float64],
    pair: tuple[int, int, float],
    forward: bool,
    slack_px: float,
) -> Crossing | None:
    i, j, level = pair
    span = distance[j] - distance[i]
    fraction = float((level - distance[i]) / span) if span else 1.0
    fraction = min(max(fraction, 0.0), 1.0)
    x = points[i] + fraction * (points[j] - points[i])
    along = segment.along((float(x[0]), float(x[1])))
    if not -slack_px <= along <= segment.length + slack_px:
        return None  # passed beside the segment, not across it
    return Crossing(i, j, fraction, forward)
