"""Red light (vượt đèn đỏ): the vehicle entered the junction across the stop line while red.

The first time the track crosses the stop line in the approach direction decides. It is a
violation when the phase at the crossing was red, the red's onset was seen (so time into red is a
measurement, not a guess), the crossing came later than the grace after the onset, the amber
before it was long enough to be believed (the amber guard), and the vehicle did not turn right
from a lane where that is allowed on red. A vehicle already past the line at the onset has no
crossing in the red; one that stops on the line never gets past the commit distance.
While the timeline is not yet final at the crossing, or a right turn cannot be told yet, the
rule answers nothing and is asked again with more of the track.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from edge_agent.rules.geometry import (
    Crossing,
    Points,
    Segment,
    box_heights,
    crossings,
    ground_points,
    heading_deg,
    points_in_polygon,
    seconds_since_first,
    turn_deg,
)
from edge_agent.rules.settings import RuleSettings
from edge_agent.rules.types import Finding, TrackObs, TrackView
from edge_agent.signal.timeline import PhaseInterval, PhaseTimelineView
from protocol.config import Calibration, Lane
from protocol.enums import BehaviourCode, SignalPhase, SignalSource
from protocol.violation import LaneFacts, SignalFacts

RULE_VERSION = "red_light/1"
DEFAULT_APPROACH_DEG = 270.0  # away from the camera, up the image


def approach_direction(calibration: Calibration) -> float:
    """The direction of travel across the stop line (config, else the lanes it spans, else up)."""
    if calibration.stop_line_direction_deg is not None:
        return calibration.stop_line_direction_deg
    if calibration.stop_line is None:
        return DEFAULT_APPROACH_DEG
    segment = Segment.toward(*calibration.stop_line)
    angles = []
    for lane in calibration.lanes:
        centre = np.mean(np.asarray(lane.polygon, dtype=np.float64), axis=0)
        # Lanes beside the stop line (an exit lane) must not vote on its direction.
        if (
            lane.direction_deg is not None
            and 0 <= segment.along((float(centre[0]), float(centre[1]))) <= segment.length
        ):
            angles.append(math.radians(lane.direction_deg))
    if not angles:
        return DEFAULT_APPROACH_DEG
    return math.degrees(math.atan2(sum(map(math.sin, angles)), sum(map(math.cos, angles)))) % 360


def stop_line_segment(calibration: Calibration) -> Segment | None:
    """The stop line with its normal pointing into the junction."""
    if calibration.stop_line is None:
        return None
    return Segment.toward(*calibration.stop_line, approach_direction(calibration))


def lane_at(point: Sequence[float], lanes: Sequence[Lane]) -> Lane | None:
    """The first calibrated lane containing the point."""
    at = np.asarray([point], dtype=np.float64)
    return next((lane for lane in lanes if points_in_polygon(at, lane.polygon)[0]), None)


def red_light(
    track: TrackView,
    calibration: Calibration,
    timeline: PhaseTimelineView | None,
    settings: RuleSettings,
    since: datetime | None = None,
) -> Finding | None:
    """A red-light finding for the track's first stop-line crossing after `since`, if any."""
    segment = stop_line_segment(calibration)
    obs = track.observations
    if segment is None or timeline is None or len(obs) < 2:
        return None
    points = ground_points(obs)
    band = settings.band(box_heights(obs), commit=True)
    times = seconds_since_first(obs)
    for crossing in crossings(points, times, segment, band, settings.slack_px):
        if crossing.forward and (since is None or crossing.time(obs) > since):
            return _judge(track, points, crossing, calibration, timeline, settings)
    return None


def _judge(
    track: TrackView,
    points: Points,
    crossing: Crossing,
    calibration: Calibration,
    timeline: PhaseTimelineView,
    settings: RuleSettings,
) -> Finding | None:
    obs = track.observations
    at = crossing.time(obs)
    settled = timeline.settled_until()
    if settled is None or settled < at:
        return None  # the light at the crossing is not known for sure yet
    red = timeline.interval_at(at)
    if red is None or red.phase is not SignalPhase.red or not red.start_known:
        return None
    into = (at - red.start).total_seconds()
    amber = _amber_before(timeline, red)
    if into <= calibration.grace_s or not _amber_believed(amber, calibration, timeline.source):
        return None
    lane = _approach_lane(obs, points, crossing, calibration.lanes)
    if lane is not None and lane.right_turn_on_red:
        turn = _turned_right(points, crossing, approach_direction(calibration), settings)
        if turn is None or turn:
            return None  # turning right where allowed, or cannot tell (yet): no violation
    return Finding(
        behaviour=BehaviourCode.red_light,
        occurred_at=at,
        frame_seq=obs[crossing.after].frame_seq,
        confidence=_confidence(obs, crossing, red),
        signal=SignalFacts(
            phase=SignalPhase.red,
            source=timeline.source,
            red_onset_at=red.start,
            amber_duration_s=amber,
            time_into_red_s=into,
            grace_s=calibration.grace_s,
        ),
        lane=None if lane is None else LaneFacts(lane_id=lane.id, allowed_classes=[]),
        speed_kmh=_speed_kmh(obs, points, crossing, calibration, settings),
    )


def _approach_lane(
    obs: Sequence[TrackObs], points: Points, crossing: Crossing, lanes: Sequence[Lane]
) -> Lane | None:
    """The lane the vehicle came from: the last one it was seen in, up to 2 s before the line
    (lanes end at the stop line, and the frame before the crossing may be on it or missing)."""
    at = obs[crossing.before].t
    for k in range(crossing.before, -1, -1):
        if (at - obs[k].t).total_seconds() > 2.0:
            break
        lane = lane_at(points[k], lanes)
        if lane is not None:
            return lane
    return None


def _amber_before(timeline: PhaseTimelineView, red: PhaseInterval) -> float | None:
    before = timeline.interval_before(red)
    if before is None or before.phase is SignalPhase.unknown:
        return None
    return before.duration_s if before.phase is SignalPhase.amber else 0.0


def _amber_believed(amber: float | None, calibration: Calibration, source: SignalSource) -> bool:
    guard = calibration.amber_guard_s
    if guard <= 0:
        return True
    if amber is None:
        # A red-only controller wire cannot see amber; any other source should have.
        return source is SignalSource.controller
    return amber >= guard


def _turned_right(
    points: Points, crossing: Crossing, approach_deg: float, settings: RuleSettings
) -> bool | None:
    """True: turned right after the line; False: went on otherwise; None: cannot tell yet."""
    i, j = crossing.before, crossing.after
    start = points[i] + crossing.fraction * (points[j] - points[i])
    chords = points[j:] - start
    lengths = np.hypot(chords[:, 0], chords[:, 1])
    usable = lengths >= settings.turn_decide_px / 2  # short chords are all box noise
    turns = [turn_deg(approach_deg, heading_deg(float(dx), float(dy))) for dx, dy in chords[usable]]
    if any(turn >= settings.right_turn_deg for turn in turns):
        return True
    went_on = lengths[-1] >= 2 * settings.turn_decide_px
    if turns and went_on and turns[-1] < settings.right_turn_deg / 2:
        return False
    return None


def _speed_kmh(
    obs: Sequence[TrackObs],
    points: Points,
    crossing: Crossing,
    calibration: Calibration,
    settings: RuleSettings,
) -> float | None:
    if calibration.metres_per_pixel is None:
        return None
    at = crossing.time(obs)
    near = [
        k for k, o in enumerate(obs) if abs((o.t - at).total_seconds()) <= settings.speed_window_s
    ]
    if len(near) < 2:
        return None
    first, last = near[0], near[-1]
    seconds = (obs[last].t - obs[first].t).total_seconds()
    if seconds < 0.2:
        return None  # too short a baseline: box noise would dominate
    pixels = float(np.hypot(*(points[last] - points[first])))
    return pixels * calibration.metres_per_pixel / seconds * 3.6


def _confidence(obs: Sequence[TrackObs], crossing: Crossing, red: PhaseInterval) -> float:
    window = obs[max(crossing.before - 4, 0) : crossing.after + 5]
    score = sum(o.score for o in window) / len(window)
    return float(min(max(score * red.confidence, 0.0), 1.0))
