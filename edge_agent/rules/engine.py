"""The rule engine: every enabled rule over every track, one violation per vehicle and rule.

`update` is called with the tracks that changed (and those just ended) and the phase timeline;
the rules are pure functions of a track's whole history, so the engine only remembers what it
already reported. A (vehicle, rule) pair reports once; a later finding of the same pair counts
only if it happened more than the cool-down after the reported one.

"Vehicle" is wider than "track id": a tracker that loses a vehicle behind a bus may give it a new
id when it reappears. A new track that starts, within `link_gap_s`, where a track of the same
kind of vehicle was heading when it was last seen is taken as that vehicle's continuation and
inherits what was reported for it, so an id switch never doubles a fine. No I/O here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from edge_agent.rules import helmet, lane, red_light
from edge_agent.rules.geometry import ground_point
from edge_agent.rules.settings import RuleSettings
from edge_agent.rules.types import Box, Finding, RiderView, TrackObs, TrackView, ViolationEvent
from edge_agent.signal.timeline import PhaseTimelineView
from protocol.config import Calibration, DeviceConfig, RulesSection
from protocol.enums import BehaviourCode, VehicleClass
from protocol.violation import MAX_TRACK_POINTS, TrackPoint, Violation

logger = logging.getLogger(__name__)

RULE_VERSIONS = {
    BehaviourCode.red_light: red_light.RULE_VERSION,
    **lane.RULE_VERSIONS,
    **helmet.RULE_VERSIONS,
}
_KIND = {
    VehicleClass.car: "vehicle",
    VehicleClass.bus: "vehicle",
    VehicleClass.truck: "vehicle",
    VehicleClass.motorbike: "two_wheeler",
    VehicleClass.bicycle: "two_wheeler",
    VehicleClass.other: "other",
}


@dataclass
class _Seen:
    view_id: int  # the track id
    root: int  # the first track id of this vehicle
    kind: str
    first_t: datetime
    last: TrackObs
    velocity: tuple[float, float]  # ground point, pixels per second
    view: TrackView | None = None  # the latest view (with any predecessor's history)
    predecessor: int | None = None
    continued: bool = False  # a later track already took it over


def _velocity(obs: Sequence[TrackObs]) -> tuple[float, float]:
    recent = [o for o in obs if (obs[-1].t - o.t).total_seconds() <= 1.0]
    seconds = (recent[-1].t - recent[0].t).total_seconds()
    if len(recent) < 2 or seconds <= 0:
        return (0.0, 0.0)
    (x0, y0), (x1, y1) = ground_point(recent[0].box), ground_point(recent[-1].box)
    return ((x1 - x0) / seconds, (y1 - y0) / seconds)


class RuleEngine:
    """Runs the enabled rules; remembers what it reported and which tracks are one vehicle."""

    def __init__(
        self,
        calibration: Calibration,
        rules: RulesSection,
        *,
        settings: RuleSettings | None = None,
    ) -> None:
        self.calibration = calibration
        self.enabled = list(rules.enabled)
        self.experimental = set(rules.experimental)
        self.cooldown = timedelta(seconds=rules.cooldown_s)
        self.settings = settings or RuleSettings()
        self._seen: dict[int, _Seen] = {}
        self._reported: dict[tuple[int, BehaviourCode], datetime] = {}
        self.linked = 0  # tracks taken as another's continuation (id switches bridged)

    @classmethod
    def from_config(cls, config: DeviceConfig, settings: RuleSettings | None = None) -> RuleEngine:
        """An engine for the box's config."""
        return cls(config.calibration, config.rules, settings=settings)

    def update(
        self, tracks: Sequence[TrackView], timeline: PhaseTimelineView | None, now: datetime
    ) -> list[ViolationEvent]:
        """New violations among `tracks` (each reported once per vehicle and rule)."""
        live = [self._remember(t) for t in tracks if t.observations]
        events = []
        for track in live:
            root = self._seen[track.track_id].root
            for code in self.enabled:
                reported = self._reported.get((root, code))
                since = None if reported is None else reported + self.cooldown
                if since is not None and track.observations[-1].t <= since:
                    continue  # nothing seen since the cool-down began: no new finding possible
                result = self._evaluate(code, track, timeline, since)
                if result is not None:
                    finding, riders = result
                    self._reported[(root, code)] = finding.occurred_at
                    events.append(self._event(track, finding, riders))
        self._forget(now)
        return events

    def _evaluate(
        self,
        code: BehaviourCode,
        track: TrackView,
        timeline: PhaseTimelineView | None,
        since: datetime | None,
    ) -> tuple[Finding, tuple[int, ...]] | None:
        cal, settings = self.calibration, self.settings
        finding: Finding | None
        if code is BehaviourCode.red_light:
            finding = red_light.red_light(track, cal, timeline, settings, since)
        elif code is BehaviourCode.solid_line:
            finding = lane.solid_line(track, cal, settings, since)
        elif code is BehaviourCode.wrong_lane:
            finding = lane.wrong_lane(track, cal, settings, since)
        elif code is BehaviourCode.wrong_way:
            finding = lane.wrong_way(track, cal, settings, since)
        elif code is BehaviourCode.illegal_lane_change:
            enforced = BehaviourCode.solid_line in self.enabled
            finding = lane.illegal_lane_change(track, cal, settings, since, enforced)
        else:
            return helmet.helmet_finding(code, track, cal, settings, since)
        return None if finding is None else (finding, ())

    def _remember(self, track: TrackView) -> TrackView:
        """Note the track; returns it with its predecessor's history in front, if it has one."""
        obs = track.observations
        seen = self._seen.get(track.track_id)
        if seen is None:
            kind = _KIND[track.vehicle_class]
            before = self._predecessor(kind, obs[0])
            root = track.track_id if before is None else before.root
            seen = _Seen(track.track_id, root, kind, obs[0].t, obs[-1], (0.0, 0.0))
            seen.predecessor = None if before is None else before.view_id
            self._seen[track.track_id] = seen
        seen.last, seen.velocity = obs[-1], _velocity(obs)
        earlier = self._seen.get(seen.predecessor) if seen.predecessor is not None else None
        if earlier is not None and earlier.view is not None:
            # Rules see the vehicle's whole history: a line crossed during the switch counts.
            history = tuple(o for o in earlier.view.observations if o.t < obs[0].t)
            track = replace(
                track,
                observations=(*history, *obs),
                riders=_joined_riders(earlier.view.riders, track.riders),
            )
        seen.view = track
        return track

    def _predecessor(self, kind: str, first: TrackObs) -> _Seen | None:
        """The vehicle a new track continues, if one vanished just there and then."""
        settings = self.settings
        x, y = ground_point(first.box)
        best: tuple[float, _Seen] | None = None
        for seen in self._seen.values():
            gap = (first.t - seen.last.t).total_seconds()
            if seen.continued or seen.kind != kind or not 0 < gap <= settings.link_gap_s:
                continue
            px, py = ground_point(seen.last.box)
            px, py = px + seen.velocity[0] * gap, py + seen.velocity[1] * gap
            x1, y1, x2, y2 = seen.last.box
            # Unseen, a vehicle may have turned or braked: allow for half its travel meanwhile.
            travel = float(np.hypot(*seen.velocity)) * gap
            reach = settings.link_distance_frac * max(x2 - x1, y2 - y1) + 0.5 * travel
            distance = float(np.hypot(x - px, y - py))
            if distance <= reach and (best is None or distance < best[0]):
                best = (distance, seen)
        if best is None:
            return None
        best[1].continued = True
        self.linked += 1
        return best[1]

    def _forget(self, now: datetime) -> None:
        horizon = now - max(self.cooldown, timedelta(seconds=self.settings.link_gap_s))
        self._seen = {k: s for k, s in self._seen.items() if s.last.t >= horizon}
        roots = {s.root for s in self._seen.values()}
        self._reported = {
            key: at for key, at in self._reported.items() if key[0] in roots or at >= horizon
        }

    def _event(self, track: TrackView, finding: Finding, riders: tuple[int, ...]) -> ViolationEvent:
        violation = Violation(
            behaviour=finding.behaviour,
            experimental=finding.behaviour in self.experimental,
            rule_version=RULE_VERSIONS[finding.behaviour],
            occurred_at=finding.occurred_at,
            vehicle_class=track.vehicle_class,
            track_id=track.track_id,
            confidence=min(max(finding.confidence, 0.0), 1.0),
            track=_track_points(track.observations, finding.frame_seq),
            signal=finding.signal,
            lane=finding.lane,
            helmet=finding.helmet,
            speed_kmh=finding.speed_kmh,
        )
        logger.info(
            "violation %s: track %d (%s) at frame %d",
            finding.behaviour.value,
            track.track_id,
            track.vehicle_class.value,
            finding.frame_seq,
        )
        return ViolationEvent(violation, finding.frame_seq, track.track_id, riders)


def _joined_riders(
    earlier: Sequence[RiderView], later: Sequence[RiderView]
) -> tuple[RiderView, ...]:
    """Riders of both tracks of one vehicle; a person track seen on both counts once."""
    latest = {r.track_id: r for r in earlier}
    latest.update({r.track_id: r for r in later})  # the later view holds the longer history
    return tuple(latest.values())


def _clip(box: Box) -> Box:
    x1, y1, x2, y2 = box
    return (x1, y1, max(x1, x2), max(y1, y2))


def _track_points(obs: Sequence[TrackObs], frame_seq: int) -> list[TrackPoint]:
    """The track as wire points; at most `MAX_TRACK_POINTS`, centred on the key frame."""
    if len(obs) > MAX_TRACK_POINTS:
        key = next((k for k, o in enumerate(obs) if o.frame_seq >= frame_seq), len(obs) - 1)
        start = min(max(key - MAX_TRACK_POINTS // 2, 0), len(obs) - MAX_TRACK_POINTS)
        obs = obs[start : start + MAX_TRACK_POINTS]
    return [
        TrackPoint(
            t=o.t, frame_seq=o.frame_seq, box=_clip(o.box), score=min(max(o.score, 0.0), 1.0)
        )
        for o in obs
    ]
