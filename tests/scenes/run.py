"""Run the rules on a scene, on ground-truth tracks or through the tracker, and score them."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from edge_agent.rules.engine import RuleEngine
from edge_agent.rules.stage import TrackHistory
from edge_agent.rules.types import Box, ViolationEvent
from edge_agent.signal.fixed_plan import FixedPlanTimeline
from protocol.enums import BehaviourCode
from tests.scenes import layout as L
from tests.scenes.detections import FrameDets, gt_objects, gt_track_id
from tests.scenes.generate import Scene

FLUSH_S = 5.0  # empty frames after the scene, so every track ends and is judged


@dataclass
class RunResult:
    """Events and the ground-truth vehicle each was matched to (None: no vehicle)."""

    events: list[ViolationEvent] = field(default_factory=list)
    vids: list[int | None] = field(default_factory=list)
    id_switches: int | None = None
    rule_ms_per_frame: float = 0.0

    def pairs(self) -> list[tuple[int | None, BehaviourCode]]:
        """(vehicle, behaviour) of every event."""
        return [(vid, e.violation.behaviour) for vid, e in zip(self.vids, self.events, strict=True)]


@dataclass(frozen=True)
class Scores:
    """Precision and recall of events against the ground truth."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        """Share of events that were real violations (a duplicate is a false one)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of real violations reported."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def truth(scene: Scene, enabled: Iterable[BehaviourCode]) -> set[tuple[int, BehaviourCode]]:
    """Every (vehicle, behaviour) the scene's vehicles commit among the enabled rules."""
    wanted = frozenset(enabled)
    return {(v.vid, code) for v in scene.vehicles for code in v.truth(wanted)}


def score(
    pairs: Sequence[tuple[int | None, BehaviourCode]], real: set[tuple[int, BehaviourCode]]
) -> Scores:
    """Scores of events; only the first event of a (vehicle, behaviour) can be right."""
    seen: set[tuple[int, BehaviourCode]] = set()
    tp = fp = 0
    for vid, code in pairs:
        key = (vid, code) if vid is not None else None
        if key is not None and key in real and key not in seen:
            seen.add(key)
            tp += 1
        else:
            fp += 1
    return Scores(tp, fp, len(real - seen))


def _flush(frames: Sequence[FrameDets]) -> list[FrameDets]:
    last = frames[-1]
    step = 1.0 / L.FPS
    return [
        FrameDets(last.seq + n, last.t + timedelta(seconds=n * step), ())
        for n in range(1, int(FLUSH_S * L.FPS) + 1)
    ]


def run_gt(
    scene: Scene, frames: Sequence[FrameDets], enabled: Sequence[BehaviourCode]
) -> RunResult:
    """The rules on ground-truth tracks (with their id switches), the plan as the signal."""
    engine = RuleEngine(L.calibration(), L.rules(tuple(enabled)))
    history, timeline = TrackHistory(), FixedPlanTimeline(L.plan())
    result, spent = RunResult(), 0.0
    back = {v.switch_id: v.vid for v in scene.vehicles if v.switch_id is not None}
    for frame in [*frames, *_flush(frames)]:
        objects, riders, helmet = gt_objects(scene, frame)
        started = time.perf_counter()
        views = history.add(frame.seq, frame.t, objects, riders, helmet)
        events = engine.update(views, timeline, frame.t)
        spent += time.perf_counter() - started
        for event in events:
            result.events.append(event)
            result.vids.append(back.get(event.track_id, event.track_id))
    result.rule_ms_per_frame = 1000 * spent / len(frames)
    return result


def _iou(a: Box, b: Box) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def match_vehicle(scene: Scene, frames: dict[int, FrameDets], event: ViolationEvent) -> int | None:
    """The ground-truth vehicle under an event's box at its key frame (IoU ≥ 0.3)."""
    point = next((p for p in event.violation.track if p.frame_seq == event.frame_seq), None)
    frame = frames.get(event.frame_seq)
    if point is None or frame is None:
        return None
    candidates = [
        (_iou(point.box, v.box(frame.t)), v.vid) for v in scene.vehicles if v.active(frame.t)
    ]
    best = max(candidates, default=(0.0, None))
    return best[1] if best[0] >= 0.3 else None


def id_switch_count(
    scene: Scene, frames: Sequence[FrameDets], tracked: Sequence[Sequence[tuple[int, str, Box]]]
) -> int:
    """How often a vehicle's tracker id changed between the frames it was tracked in."""
    last: dict[int, int] = {}
    switches = 0
    for frame, objects in zip(frames, tracked, strict=False):
        for v in scene.vehicles:
            if not v.active(frame.t):
                continue
            clean = v.box(frame.t)
            best = max(
                ((_iou(clean, box), tid) for tid, label, box in objects if label != "person"),
                default=(0.0, -1),
            )
            if best[0] < 0.5:
                continue
            if v.vid in last and last[v.vid] != best[1]:
                switches += 1
            last[v.vid] = best[1]
    return switches


def gt_id_switches(scene: Scene, frames: Sequence[FrameDets]) -> int:
    """Id switches in the ground-truth tracks themselves (what the engine must bridge)."""
    return sum(
        1
        for v in scene.vehicles
        if v.switch_id is not None
        and any(gt_track_id(v, f.t) != v.vid for f in frames if v.active(f.t))
    )


def _helmet_of(objects: Sequence[object], dets: Sequence[object]) -> dict[int, float]:
    """P(helmet) for each tracked person: that of the rider detection under its box."""
    out: dict[int, float] = {}
    for o in objects:
        if getattr(o, "label", "") != "person" or not getattr(o, "detected", False):
            continue
        scored = [(_iou(o.box, d.box), d.helmet_score) for d in dets if d.helmet_score is not None]  # type: ignore[attr-defined]
        best = max(scored, default=(0.0, None))
        if best[0] >= 0.5 and best[1] is not None:
            out[o.track_id] = best[1]  # type: ignore[attr-defined]
    return out


def run_tracked(
    scene: Scene, frames: Sequence[FrameDets], enabled: Sequence[BehaviourCode]
) -> RunResult:
    """The rules on the tracker's output for the noisy detections (ByteTrack, rider links)."""
    from edge_agent.tracking import ByteTracker, RiderLinker

    tracker, linker = ByteTracker(buffer_frames=int(3 * L.FPS)), RiderLinker()
    engine = RuleEngine(L.calibration(), L.rules(tuple(enabled)))
    history, timeline = TrackHistory(), FixedPlanTimeline(L.plan())
    result, spent, boxes = RunResult(), 0.0, []
    for frame in [*frames, *_flush(frames)]:
        objects = tracker.step(frame.seq, frame.dets)
        riders = linker.update(objects)
        boxes.append([(o.track_id, o.label, o.box) for o in objects if o.detected])
        started = time.perf_counter()
        views = history.add(frame.seq, frame.t, objects, riders, _helmet_of(objects, frame.dets))
        events = engine.update(views, timeline, frame.t)
        spent += time.perf_counter() - started
        result.events.extend(events)
    by_seq = {f.seq: f for f in frames}
    result.vids = [match_vehicle(scene, by_seq, e) for e in result.events]
    result.id_switches = id_switch_count(scene, frames, boxes)
    result.rule_ms_per_frame = 1000 * spent / len(frames)
    return result
