"""The rule stage: tracked frames in, violation events out (drawn scene, classifier light)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

from edge_agent.agent.messages import TrackedFrame
from edge_agent.capture.base import Frame
from edge_agent.rules.engine import RuleEngine
from edge_agent.rules.heads import BaselineHeadClassifier
from edge_agent.rules.stage import RuleStage, TrackHistory
from edge_agent.rules.types import ViolationEvent
from edge_agent.signal.classifier import ClassifierSignal
from edge_agent.tracking import TrackedObject
from protocol.enums import BehaviourCode, SignalSource, VehicleClass
from tests.scenes import detections, generate
from tests.scenes import layout as L
from tests.scenes.detections import gt_objects
from tests.scenes.render import frames
from tests.scenes.run import score, truth

T0 = datetime(2026, 3, 18, 8, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Obj:
    track_id: int
    label: str
    box: tuple[float, float, float, float]
    score: float = 0.9
    detected: bool = True


@dataclass(frozen=True)
class Shot:
    image: np.ndarray
    seq: int
    captured_at: datetime


@dataclass(frozen=True)
class Tracked:
    frame: Shot
    objects: tuple[Obj, ...]
    riders: dict[int, tuple[int, ...]] = field(default_factory=dict)


def test_history_keeps_detected_boxes_and_votes_the_class() -> None:
    history = TrackHistory(end_after_s=1.0, linger_s=1.0)
    for k in range(10):
        label = "truck" if k == 3 else "car"
        objects = [
            Obj(1, label, (0, 0, 10, 10 + k), detected=k != 5),
            Obj(2, "person", (0, 0, 5, 5)),
        ]
        views = history.add(k, T0 + timedelta(seconds=k / 10), objects, {1: (2,)}, {2: 0.8})
    [view] = views
    assert view.vehicle_class is VehicleClass.car
    assert len(view.observations) == 9  # the predicted box of frame 5 is not evidence
    assert [r.track_id for r in view.riders] == [2]
    assert view.riders[0].observations[-1].helmet_score == 0.8
    later = history.add(40, T0 + timedelta(seconds=2.0), [], None)
    assert later[0].ended
    assert history.add(41, T0 + timedelta(seconds=3), [], None) == []


def test_the_agent_s_own_messages_fit_the_stage() -> None:
    engine = RuleEngine(L.calibration(), L.rules((BehaviourCode.red_light,)))
    stage = RuleStage(engine, None)
    image = np.zeros((720, 1280, 3), np.uint8)
    obj = TrackedObject(1, "car", (200, 600, 260, 690), 0.9, True, 3, 0, (0.0, -5.0))
    stage.consume(TrackedFrame(Frame(image, 0, T0, 0.0), (obj,), {}, True))
    assert stage.frames == 1 and stage.events == []
    stage.close()


def test_drawn_scene_with_the_light_read_from_the_frames() -> None:
    """Every rule on a drawn scene: the light classified from the pixels, heads from the
    rider crops, tracks from the ground truth; each true violation reported once."""
    scene = generate(1, cycles=1)  # red light, lane change, wrong way, both helmet rules
    dets = {f.seq: f for f in detections(scene)}
    enabled = tuple(BehaviourCode)
    events: list[ViolationEvent] = []
    signal = ClassifierSignal(L.calibration().light_region)  # type: ignore[arg-type]
    stage = RuleStage(
        RuleEngine(L.calibration(), L.rules(enabled)),
        signal,
        sink=events.append,
        heads=BaselineHeadClassifier(),
    )
    for seq, t, image in frames(scene):
        objects, riders, _ = gt_objects(scene, dets[seq])
        stage.consume(
            Tracked(
                Shot(image, seq, t), tuple(Obj(o.track_id, o.label, o.box) for o in objects), riders
            )
        )
    stage.close()
    back = {v.switch_id: v.vid for v in scene.vehicles if v.switch_id is not None}
    pairs = [(back.get(e.track_id, e.track_id), e.violation.behaviour) for e in events]
    real = truth(scene, enabled)
    result = score(pairs, real)
    assert {code for _, code in real} >= {BehaviourCode.red_light, BehaviourCode.no_helmet}
    missed = sorted((v, c.value) for v, c in real - set(pairs))
    assert (result.precision, result.recall) == (1.0, 1.0), missed
    red = next(e for e in events if e.violation.behaviour is BehaviourCode.red_light)
    assert (
        red.violation.signal is not None and red.violation.signal.source is SignalSource.classifier
    )
    assert red.violation.signal.amber_duration_s is not None
    assert abs(red.violation.signal.amber_duration_s - L.AMBER_S) < 0.25
