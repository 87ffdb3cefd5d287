"""The violation an evidence packet reports, with the facts the box measured."""

from __future__ import annotations

from pydantic import Field, model_validator

from protocol.enums import (
    BehaviourCode,
    RiderPosition,
    SignalPhase,
    SignalSource,
    VehicleClass,
)
from protocol.fields import Box, Confidence, Identifier, ShortText, UtcDatetime, WireModel

MAX_TRACK_POINTS = 1000


class TrackPoint(WireModel):
    """One detection of the offending vehicle: its box in one frame."""

    t: UtcDatetime = Field(description="Capture time of the frame (UTC).")
    frame_seq: int = Field(ge=0, description="Frame sequence number from the camera source.")
    box: Box = Field(description="Bounding box [x1, y1, x2, y2] in frame pixels.")
    score: Confidence = Field(description="Detector score for this box, 0..1.")


class SignalFacts(WireModel):
    """The traffic-light state when the vehicle crossed the stop line."""

    phase: SignalPhase = Field(description="Phase at the stop-line crossing.")
    source: SignalSource = Field(description="How the box knew the phase.")
    red_onset_at: UtcDatetime | None = Field(
        default=None, description="When the current red began (UTC), if known."
    )
    amber_duration_s: float | None = Field(
        default=None, ge=0, description="Length of the amber that preceded the red, seconds."
    )
    time_into_red_s: float | None = Field(
        default=None, description="Seconds from red onset to the crossing."
    )
    grace_s: float = Field(ge=0, description="Grace period after red onset the rule applied.")


class LaneFacts(WireModel):
    """The lane and marking facts behind a lane violation."""

    lane_id: Identifier | None = Field(
        default=None, description="Calibrated lane the vehicle was in."
    )
    line_id: Identifier | None = Field(default=None, description="Solid line the track crossed.")
    lane_direction_deg: float | None = Field(
        default=None, ge=0, lt=360, description="Lane's permitted direction, image degrees."
    )
    travel_direction_deg: float | None = Field(
        default=None, ge=0, lt=360, description="Vehicle's measured direction, image degrees."
    )
    allowed_classes: list[VehicleClass] = Field(
        default_factory=list, description="Vehicle classes the lane allows."
    )


class RiderFacts(WireModel):
    """One rider on a motorbike and the helmet classifier's verdict."""

    position: RiderPosition = Field(description="Driver or passenger.")
    head_box: Box = Field(description="Head region [x1, y1, x2, y2] in frame pixels.")
    helmet_score: Confidence = Field(description="Probability the rider wears a helmet, 0..1.")
    person_box: Box | None = Field(default=None, description="Whole rider box, if detected.")


class HelmetFacts(WireModel):
    """Riders classified for a helmet violation."""

    riders: list[RiderFacts] = Field(
        min_length=1, max_length=6, description="Every rider the box classified."
    )


class Violation(WireModel):
    """What the box saw: a behaviour code and the measurements that support it."""

    behaviour: BehaviourCode = Field(description="Behaviour code; the server maps it to the law.")
    experimental: bool = Field(
        description="True when the rule is experimental: the centre reviews it with extra care."
    )
    rule_version: ShortText = Field(description="Version of the rule code that decided it.")
    occurred_at: UtcDatetime = Field(description="When the violation happened (UTC).")
    vehicle_class: VehicleClass = Field(description="Class of the offending vehicle.")
    track_id: int = Field(ge=0, description="Tracker identity of the vehicle on this box.")
    confidence: Confidence = Field(description="Overall confidence of the rule, 0..1.")
    track: list[TrackPoint] = Field(
        min_length=1,
        max_length=MAX_TRACK_POINTS,
        description="The vehicle's boxes per frame, in time order.",
    )
    signal: SignalFacts | None = Field(default=None, description="Signal facts (red light).")
    lane: LaneFacts | None = Field(default=None, description="Lane facts (lane, line, direction).")
    helmet: HelmetFacts | None = Field(default=None, description="Rider facts (helmet rules).")
    speed_kmh: float | None = Field(default=None, ge=0, description="Estimated speed, km/h.")

    @model_validator(mode="after")
    def _track_in_time_order(self) -> Violation:
        times = [point.t for point in self.track]
        if times != sorted(times):
            raise ValueError("track points must be in time order")
        return self
