"""The rules' own inputs and outputs, independent of the tracker's internals.

A rule sees a vehicle as a `TrackView`: its class and its detected boxes over time (predicted
boxes from frames without a detection are left out: evidence shows what the camera saw). A
motorbike's riders come with the head classifier's verdict per frame. A rule returns `Finding`s;
the engine turns each into a `ViolationEvent` carrying the wire `Violation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from protocol.enums import BehaviourCode, VehicleClass
from protocol.violation import HelmetFacts, LaneFacts, SignalFacts, Violation

Box = tuple[float, float, float, float]
"""x1, y1, x2, y2 in frame pixels."""


@dataclass(frozen=True)
class TrackObs:
    """One detection of a tracked object."""

    t: datetime  # capture time of the frame, UTC
    frame_seq: int
    box: Box
    score: float


@dataclass(frozen=True)
class RiderObs:
    """One detection of a rider, with the head classifier's P(helmet) when it ran."""

    t: datetime
    frame_seq: int
    box: Box  # the whole person
    score: float
    helmet_score: float | None = None


@dataclass(frozen=True)
class RiderView:
    """A person tracked riding a motorbike."""

    track_id: int
    observations: Sequence[RiderObs]


@dataclass(frozen=True)
class TrackView:
    """A vehicle as the rules see it: class, detections in time order, riders."""

    track_id: int
    vehicle_class: VehicleClass
    observations: Sequence[TrackObs]
    riders: Sequence[RiderView] = ()
    # The tracker has let go of it: a decision still waiting for more of the track is final.
    ended: bool = False


@dataclass(frozen=True)
class Finding:
    """What a rule found on one track: the behaviour, when, the frame, and the facts."""

    behaviour: BehaviourCode
    occurred_at: datetime
    frame_seq: int  # the frame at the line (or that shows the violation best)
    confidence: float
    signal: SignalFacts | None = None
    lane: LaneFacts | None = None
    helmet: HelmetFacts | None = None
    speed_kmh: float | None = None


@dataclass(frozen=True)
class ViolationEvent:
    """A violation to turn into evidence: the wire facts, the key frame and the track."""

    violation: Violation
    frame_seq: int
    track_id: int
    # For helmet rules: the rider whose crop the packet carries (`rider_crop`).
    rider_track_ids: tuple[int, ...] = field(default=())
