"""Helmet rules (không đội mũ bảo hiểm): `no_helmet` for the driver, `passenger_no_helmet`.

EXPERIMENTAL and off by default: there is no licensed training data for a Vietnamese street
camera, so the head classifier's verdict is not yet evidence anyone should fine on without a
careful look; packets say so (`experimental`) and carry the rider crop for the reviewer.

For a motorbike, each rider's head is classified frame by frame (`heads.py`); the rule averages
a rider's first `2 × helmet_min_frames` verdicts, once at least `helmet_min_frames` exist (or the
track ended), so the decision and its moment never move as the track grows. The front rider is
the driver: the one furthest along the motorbike's travel (for a motorbike at rest, along the
approach direction, which is how traffic faces at this camera).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from edge_agent.rules.geometry import Points, ground_points, unit_vector
from edge_agent.rules.red_light import approach_direction
from edge_agent.rules.settings import RuleSettings
from edge_agent.rules.types import Box, Finding, RiderObs, TrackView
from protocol.config import Calibration
from protocol.enums import BehaviourCode, RiderPosition, VehicleClass
from protocol.violation import HelmetFacts, RiderFacts

RULE_VERSIONS = {
    BehaviourCode.no_helmet: "no_helmet/1",
    BehaviourCode.passenger_no_helmet: "passenger_no_helmet/1",
}
MAX_RIDERS = 6  # what a packet can carry (HelmetFacts)


def head_box(person: Box) -> Box:
    """The head region of a rider's person box: its top quarter, centred, about square."""
    x1, y1, x2, y2 = person
    height = 0.26 * (y2 - y1)
    width = min(x2 - x1, 1.2 * height)
    centre = (x1 + x2) / 2
    return (centre - width / 2, y1, centre + width / 2, y1 + height)


@dataclass(frozen=True)
class JudgedRider:
    """A seat on the bike with enough head verdicts: mean P(helmet), when decided, best view."""

    position: RiderPosition
    helmet_score: float
    decided_at: datetime
    best: RiderObs  # the largest view among the judged frames: the crop for the reviewer
    track_ids: tuple[int, ...]  # the rider tracks seen in this seat
    agreement: float  # share of the judged frames whose verdict agrees with the mean's


def _forward_at(points: Points, k: int, fallback: tuple[float, float]) -> tuple[float, float]:
    """The bike's direction of travel around observation `k` (turning bikes turn their riders)."""
    lo, hi = max(k - 5, 0), min(k + 5, len(points) - 1)
    dx, dy = (float(v) for v in points[hi] - points[lo])
    length = math.hypot(dx, dy)
    return (dx / length, dy / length) if length >= 5.0 else fallback


def _overall_forward(
    points: Points, calibration: Calibration, settings: RuleSettings
) -> tuple[float, float]:
    dx, dy = (float(v) for v in points[-1] - points[0])
    length = math.hypot(dx, dy)
    if length >= settings.min_travel_px:
        return (dx / length, dy / length)
    return unit_vector(approach_direction(calibration))


@dataclass(frozen=True)
class _Seen:
    track_id: int  # the rider track
    obs: RiderObs
    ahead: float  # how far ahead of the bike's centre, along its travel, in bike lengths


def _seat_count(by_frame: dict[int, list[tuple[int, RiderObs]]], settings: RuleSettings) -> int:
    """The most riders seen together often enough (0: not yet known).

    A second rider the tracker keeps losing is still a second rider, and then a frame showing
    one person does not say which of the two it is.
    """
    counts = Counter(len(v) for v in by_frame.values())
    often = [n for n, frames in counts.items() if frames >= settings.helmet_min_frames]
    return min(max(often), MAX_RIDERS) if often else 0


def _seated(
    track: TrackView, calibration: Calibration, settings: RuleSettings
) -> list[list[_Seen]]:
    """Per seat (front first), the rider as seen in each frame that shows every rider.

    Seats are assigned frame by frame, front to back along the bike's travel: rider track ids
    are not trusted (two riders' boxes overlap, and trackers swap them), the order on the bike is.
    """
    by_frame: dict[int, list[tuple[int, RiderObs]]] = {}
    for rider in track.riders:
        for o in rider.observations:
            by_frame.setdefault(o.frame_seq, []).append((rider.track_id, o))
    seats = _seat_count(by_frame, settings)
    if not seats:
        return []
    points = ground_points(track.observations)
    overall = _overall_forward(points, calibration, settings)
    out: list[list[_Seen]] = [[] for _ in range(seats)]
    for k, bike in enumerate(track.observations):
        present = by_frame.get(bike.frame_seq, [])
        if len(present) != seats:
            continue  # a rider missing (or one too many): which seat is which is unsure
        fx, fy = _forward_at(points, k, overall)
        x1, y1, x2, y2 = bike.box
        length = max(x2 - x1, y2 - y1, 1.0)
        seen = [
            _Seen(
                tid,
                o,
                (
                    ((o.box[0] + o.box[2]) - (x1 + x2)) * fx
                    + ((o.box[1] + o.box[3]) - (y1 + y2)) * fy
                )
                / 2
                / length,
            )
            for tid, o in present
        ]
        for seat, entry in enumerate(sorted(seen, key=lambda e: -e.ahead)):
            out[seat].append(entry)
    return out


def _judge_seat(
    seat: int, entries: list[_Seen], ended: bool, settings: RuleSettings
) -> JudgedRider | None:
    scored = [e for e in entries if e.obs.helmet_score is not None]
    enough = 2 * settings.helmet_min_frames
    if len(scored) < enough and not (ended and len(scored) >= settings.helmet_min_frames):
        return None
    frames = scored[:enough]
    if max(Counter(e.track_id for e in frames).values()) < settings.helmet_steady * len(frames):
        return None  # the rider's track kept breaking: whose head each frame shows is unsure
    if float(np.std([e.ahead for e in frames])) > settings.helmet_seat_spread:
        return None  # the "seat" wanders along the bike: two riders taken for one
    scores = [float(e.obs.helmet_score) for e in frames if e.obs.helmet_score is not None]
    mean = float(np.mean(scores))
    return JudgedRider(
        position=RiderPosition.driver if seat == 0 else RiderPosition.passenger,
        helmet_score=mean,
        decided_at=frames[min(settings.helmet_min_frames, len(frames)) - 1].obs.t,
        best=max(
            (e.obs for e in frames), key=lambda o: (o.box[2] - o.box[0]) * (o.box[3] - o.box[1])
        ),
        track_ids=tuple(sorted({e.track_id for e in frames})),
        agreement=float(np.mean([(x >= 0.5) == (mean >= 0.5) for x in scores])),
    )


def judge_riders(
    track: TrackView, calibration: Calibration, settings: RuleSettings
) -> list[JudgedRider]:
    """Every seat of a motorbike with a verdict, driver first (empty while undecided)."""
    if track.vehicle_class is not VehicleClass.motorbike or not track.riders:
        return []
    seats = _seated(track, calibration, settings)
    judged = [_judge_seat(n, entries, track.ended, settings) for n, entries in enumerate(seats)]
    return [j for j in judged if j is not None]


def _facts(judged: Sequence[JudgedRider]) -> HelmetFacts:
    return HelmetFacts(
        riders=[
            RiderFacts(
                position=j.position,
                head_box=head_box(j.best.box),
                helmet_score=min(max(j.helmet_score, 0.0), 1.0),
                person_box=j.best.box,
            )
            for j in judged
        ]
    )


def helmet_finding(
    code: BehaviourCode,
    track: TrackView,
    calibration: Calibration,
    settings: RuleSettings,
    since: datetime | None,
) -> tuple[Finding, tuple[int, ...]] | None:
    """A `no_helmet` or `passenger_no_helmet` finding, with the offending riders' track ids."""
    judged = judge_riders(track, calibration, settings)
    wanted = RiderPosition.driver if code is BehaviourCode.no_helmet else RiderPosition.passenger
    bare = [
        j for j in judged if j.position is wanted and j.helmet_score < settings.helmet_threshold
    ]
    if not bare:
        return None
    worst = min(bare, key=lambda j: j.helmet_score)
    decided = max(j.decided_at for j in bare)
    if since is not None and decided <= since:
        return None
    finding = Finding(
        behaviour=code,
        occurred_at=decided,
        frame_seq=worst.best.frame_seq,
        confidence=1.0 - worst.helmet_score,
        helmet=_facts(judged),
    )
    return finding, tuple(sorted({t for j in bare for t in j.track_ids}))
