"""Tracks and timelines for the rule tests: plain factory functions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from edge_agent.rules.types import RiderObs, RiderView, TrackObs, TrackView
from edge_agent.signal.timeline import PhaseTimeline
from protocol.config import Calibration
from protocol.enums import SignalPhase, SignalSource, VehicleClass

T0 = datetime(2026, 3, 18, 8, 0, tzinfo=timezone.utc)
FPS = 10.0
CAR = (60.0, 90.0)  # box width, height
BIKE = (30.0, 56.0)
Point = tuple[float, float]


def at(seconds: float) -> datetime:
    """`seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


def line(start: Point, end: Point, speed: float) -> list[Point]:
    """Ground points from `start` to `end` at `speed` px/s, one a frame (end included)."""
    (x0, y0), (x1, y1) = start, end
    length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
    steps = max(int(round(length / speed * FPS)), 1)
    return [(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps) for k in range(steps + 1)]


def still(point: Point, seconds: float) -> list[Point]:
    """A vehicle standing at `point` for `seconds`."""
    return [point] * int(round(seconds * FPS))


def track(
    points: Sequence[Point],
    *,
    start: float = 0.0,
    track_id: int = 1,
    cls: VehicleClass = VehicleClass.car,
    size: tuple[float, float] = CAR,
    riders: Sequence[RiderView] = (),
    ended: bool = False,
    jitter: Sequence[float] = (),
) -> TrackView:
    """A track whose box's bottom centre follows `points`, one a frame from `start` seconds."""
    w, h = size
    obs = []
    for k, (x, y) in enumerate(points):
        dy = jitter[k % len(jitter)] if jitter else 0.0
        box = (x - w / 2, y + dy - h, x + w / 2, y + dy)
        obs.append(TrackObs(at(start + k / FPS), k + int(start * FPS), box, 0.9))
    return TrackView(track_id, cls, tuple(obs), tuple(riders), ended)


def rider(
    bike: TrackView, *, track_id: int, ahead: float, helmet: float | None, lift: float = 28.0
) -> RiderView:
    """A person on `bike`, `ahead` px up the image from the bike's centre; P(helmet) a frame."""
    obs = []
    for o in bike.observations:
        cx, cy = (o.box[0] + o.box[2]) / 2, (o.box[1] + o.box[3]) / 2 - lift - ahead
        box = (cx - 15, cy - 27, cx + 15, cy + 27)
        obs.append(RiderObs(o.t, o.frame_seq, box, 0.9, helmet))
    return RiderView(track_id, tuple(obs))


def timeline(
    phases: Sequence[tuple[SignalPhase, float, float]],
    source: SignalSource = SignalSource.classifier,
) -> PhaseTimeline:
    """A timeline fed at 10 Hz with `(phase, from_s, to_s)` readings."""
    tl = PhaseTimeline(source)
    for phase, begin, end in phases:
        for k in range(int(round((end - begin) * FPS))):
            tl.observe(at(begin + k / FPS), phase)
    return tl


def calibration(**changes: object) -> Calibration:
    """Stop line y=500 (x 100..700); lane `a` x 100..400 cars only; lane `b` x 400..700 with a
    right turn on red; one-way lanes up the image; solid line x=400 from y 520 to 900."""
    data: dict[str, object] = {
        "stop_line": [[100, 500], [700, 500]],
        "lanes": [
            {
                "id": "a",
                "polygon": [[100, 500], [400, 500], [400, 1000], [100, 1000]],
                "allowed_classes": ["car", "bus", "truck"],
                "direction_deg": 270,
                "one_way": True,
            },
            {
                "id": "b",
                "polygon": [[400, 500], [700, 500], [700, 1000], [400, 1000]],
                "direction_deg": 270,
                "one_way": True,
                "right_turn_on_red": True,
                "lane_change_allowed": False,
            },
        ],
        "solid_lines": [{"id": "s1", "points": [[400, 520], [400, 900]]}],
        "grace_s": 0.5,
        "amber_guard_s": 0.0,
        "metres_per_pixel": 0.05,
    }
    data.update(changes)
    return Calibration.model_validate(data)
