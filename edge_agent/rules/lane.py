"""Lane rules: solid line, wrong lane, wrong way (one-way lanes), illegal lane change.

A vehicle's lane is the calibrated polygon holding its ground point. Near a lane boundary box
noise makes that flicker, so membership shorter than `flicker_s` is ignored and a lane counts only
after the vehicle has stayed in it for `dwell_s` (a car brushing a motorbike lane while turning is
not "in" it). Lines are crossed with the same hysteresis as the stop line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from edge_agent.rules.geometry import (
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
from protocol.config import Calibration, Lane
from protocol.enums import BehaviourCode
from protocol.violation import LaneFacts

RULE_VERSIONS = {
    BehaviourCode.solid_line: "solid_line/1",
    BehaviourCode.wrong_lane: "wrong_lane/1",
    BehaviourCode.wrong_way: "wrong_way/1",
    BehaviourCode.illegal_lane_change: "illegal_lane_change/1",
}


@dataclass(frozen=True)
class LaneRun:
    """A stretch of observations `first..last` (inclusive) in one lane."""

    lane: int  # index into the calibration's lanes
    first: int
    last: int

    def seconds(self, obs: Sequence[TrackObs]) -> float:
        """How long the run lasted."""
        return (obs[self.last].t - obs[self.first].t).total_seconds()


def lane_indices(points: Points, lanes: Sequence[Lane]) -> npt.NDArray[np.int64]:
    """For each point the index of the first lane holding it, -1 for none."""
    index = np.full(len(points), -1, dtype=np.int64)
    for n in reversed(range(len(lanes))):  # reversed: the first listed lane wins an overlap
        index[points_in_polygon(points, lanes[n].polygon)] = n
    return index


def lane_runs(
    obs: Sequence[TrackObs], index: npt.NDArray[np.int64], flicker_s: float
) -> list[LaneRun]:
    """Runs of lane membership, flickers dropped and the pieces of one lane joined."""
    raw: list[LaneRun] = []
    start = 0
    for k in range(1, len(index) + 1):
        if k == len(index) or index[k] != index[start]:
            raw.append(LaneRun(int(index[start]), start, k - 1))
            start = k
    kept = [run for run in raw if run.lane >= 0 and run.seconds(obs) >= flicker_s]
    joined: list[LaneRun] = []
    for run in kept:
        if joined and joined[-1].lane == run.lane:
            joined[-1] = LaneRun(run.lane, joined[-1].first, run.last)
        else:
            joined.append(run)
    return joined


def _runs(track: TrackView, calibration: Calibration, settings: RuleSettings) -> list[LaneRun]:
    points = ground_points(track.observations)
    return lane_runs(
        track.observations, lane_indices(points, calibration.lanes), settings.flicker_s
    )


def _after(obs: TrackObs, since: datetime | None) -> bool:
    return since is None or obs.t > since


def _facts(lane: Lane, **extra: float | str | None) -> LaneFacts:
    return LaneFacts.model_validate(
        {
            "lane_id": lane.id,
            "lane_direction_deg": lane.direction_deg,
            "allowed_classes": lane.allowed_classes,
            **extra,
        }
    )


def _mean_score(obs: Sequence[TrackObs], first: int, last: int) -> float:
    window = obs[first : last + 1]
    return float(sum(o.score for o in window) / len(window))


def _solid_crossings(
    track: TrackView, calibration: Calibration, settings: RuleSettings
) -> list[tuple[datetime, int, str]]:
    """(time, index of the first observation past, line id) of every solid-line crossing."""
    obs = track.observations
    if len(obs) < 2:
        return []
    points = ground_points(obs)
    band = settings.band(box_heights(obs), commit=False)
    times = seconds_since_first(obs)
    found = []
    for line in calibration.solid_lines:
        for a, b in zip(line.points, line.points[1:], strict=False):
            segment = Segment.toward(a, b)
            for crossing in crossings(points, times, segment, band, settings.slack_px):
                found.append((crossing.time(obs), crossing.after, line.id))
    return sorted(found)


def solid_line(
    track: TrackView, calibration: Calibration, settings: RuleSettings, since: datetime | None
) -> Finding | None:
    """The track's first crossing of a solid line after `since`, either way."""
    obs = track.observations
    later = [
        c for c in _solid_crossings(track, calibration, settings) if since is None or c[0] > since
    ]
    if not later:
        return None
    at, after, line_id = later[0]
    before_point = ground_points(obs[after - 1 : after])
    lane = lane_indices(before_point, calibration.lanes)[0]
    return Finding(
        behaviour=BehaviourCode.solid_line,
        occurred_at=at,
        frame_seq=obs[after].frame_seq,
        confidence=_mean_score(obs, max(after - 3, 0), min(after + 3, len(obs) - 1)),
        lane=LaneFacts(line_id=line_id, lane_id=calibration.lanes[lane].id if lane >= 0 else None),
    )


def wrong_lane(
    track: TrackView, calibration: Calibration, settings: RuleSettings, since: datetime | None
) -> Finding | None:
    """The vehicle stayed `dwell_s` in a lane that does not allow its class."""
    obs = track.observations
    for run in _runs(track, calibration, settings):
        lane = calibration.lanes[run.lane]
        if track.vehicle_class in lane.allowed_classes:
            continue
        for k in range(run.first, run.last + 1):
            settled = (obs[k].t - obs[run.first].t).total_seconds() >= settings.dwell_s
            if settled and _after(obs[k], since):
                return Finding(
                    behaviour=BehaviourCode.wrong_lane,
                    occurred_at=obs[k].t,
                    frame_seq=obs[k].frame_seq,
                    confidence=_mean_score(obs, run.first, k),
                    lane=_facts(lane),
                )
    return None


def wrong_way(
    track: TrackView, calibration: Calibration, settings: RuleSettings, since: datetime | None
) -> Finding | None:
    """The vehicle travelled against a one-way lane's direction for `dwell_s`."""
    obs = track.observations
    points = ground_points(obs)
    heights = box_heights(obs)
    for run in _runs(track, calibration, settings):
        lane = calibration.lanes[run.lane]
        if not lane.one_way or lane.direction_deg is None:
            continue
        j = run.first
        for k in range(run.first, run.last + 1):
            while j + 1 < k and (obs[k].t - obs[j + 1].t).total_seconds() >= settings.dwell_s:
                j += 1  # the window [j, k] spans just over dwell_s
            if (obs[k].t - obs[j].t).total_seconds() < settings.dwell_s or not _after(
                obs[k], since
            ):
                continue
            dx, dy = (float(v) for v in points[k] - points[j])
            travel = float(np.hypot(dx, dy))
            heading = heading_deg(dx, dy)
            against = abs(turn_deg(lane.direction_deg, heading)) >= settings.wrong_way_deg
            if against and travel >= max(settings.min_travel_px, 0.5 * float(heights[k])):
                return Finding(
                    behaviour=BehaviourCode.wrong_way,
                    occurred_at=obs[k].t,
                    frame_seq=obs[k].frame_seq,
                    confidence=_mean_score(obs, j, k),
                    lane=_facts(lane, travel_direction_deg=heading),
                )
    return None


def illegal_lane_change(
    track: TrackView,
    calibration: Calibration,
    settings: RuleSettings,
    since: datetime | None,
    solid_line_enforced: bool = False,
) -> Finding | None:
    """The vehicle left or entered a no-lane-change lane, settled in both for `dwell_s`.

    With `solid_line_enforced`, a change across a solid line is left to that rule (one act,
    one violation: the marking is the more specific behaviour).
    """
    obs = track.observations
    runs = [r for r in _runs(track, calibration, settings) if r.seconds(obs) >= settings.dwell_s]
    solid = _solid_crossings(track, calibration, settings) if solid_line_enforced else []
    for before, after in zip(runs, runs[1:], strict=False):
        left, entered = calibration.lanes[before.lane], calibration.lanes[after.lane]
        if left.lane_change_allowed and entered.lane_change_allowed:
            continue
        if not _after(obs[after.first], since):
            continue
        if solid_line_enforced and any(before.first < index <= after.last for _, index, _ in solid):
            continue
        return Finding(
            behaviour=BehaviourCode.illegal_lane_change,
            occurred_at=obs[after.first].t,
            frame_seq=obs[after.first].frame_seq,
            confidence=_mean_score(obs, before.last, after.first),
            lane=_facts(entered),
        )
    return None
