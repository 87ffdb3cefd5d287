"""The engine: one violation per vehicle and rule, across id switches, with a cool-down."""

from __future__ import annotations

from collections.abc import Sequence

from edge_agent.rules.engine import RuleEngine
from edge_agent.rules.types import TrackView, ViolationEvent
from edge_agent.signal.timeline import PhaseTimeline
from protocol.config import RulesSection
from protocol.enums import BehaviourCode, SignalPhase, VehicleClass
from protocol.violation import Violation
from tests.edge_agent.rules.helpers import (
    BIKE,
    FPS,
    at,
    calibration,
    line,
    rider,
    still,
    timeline,
    track,
)
from tests.factories import make_device_config

G, A, R = SignalPhase.green, SignalPhase.amber, SignalPhase.red
PLAN = [(G, 0, 10), (A, 10, 13), (R, 13, 60)]


def engine(*codes: BehaviourCode, cooldown_s: float = 30.0) -> RuleEngine:
    return RuleEngine(calibration(), RulesSection(enabled=list(codes), cooldown_s=cooldown_s))


def replay(
    eng: RuleEngine, tracks: Sequence[TrackView], tl: PhaseTimeline | None
) -> list[ViolationEvent]:
    """Feed the tracks frame by frame, as the rule stage does, and collect the events."""
    times = sorted({o.t for t in tracks for o in t.observations})
    events = []
    for now in times:
        views = []
        for t in tracks:
            seen = tuple(o for o in t.observations if o.t <= now)
            if seen and (now - seen[-1].t).total_seconds() <= 4.0:
                views.append(TrackView(t.track_id, t.vehicle_class, seen, t.riders))
        events += eng.update(views, tl, now)
    return events


def runner(start: float = 12.0, track_id: int = 1, x: float = 250) -> TrackView:
    return track(line((x, 950), (x, 100), 150), start=start, track_id=track_id)


def test_one_red_light_event_per_vehicle_however_often_it_is_asked() -> None:
    events = replay(engine(BehaviourCode.red_light), [runner()], timeline(PLAN))
    assert len(events) == 1
    event = events[0]
    violation = event.violation
    assert violation.behaviour is BehaviourCode.red_light and not violation.experimental
    assert violation.rule_version == "red_light/1"
    assert violation.track_id == event.track_id == 1
    assert violation.vehicle_class is VehicleClass.car
    assert any(p.frame_seq == event.frame_seq for p in violation.track)
    # The facts survive the wire model's own validation (what the evidence packet will carry).
    assert Violation.model_validate_json(violation.model_dump_json()) == violation


def test_an_id_switch_at_the_line_neither_hides_nor_doubles_the_violation() -> None:
    whole = runner()
    before = TrackView(1, VehicleClass.car, whole.observations[:28], ())  # up to y≈530
    after = TrackView(7, VehicleClass.car, whole.observations[38:], ())  # one second later, past it
    eng = engine(BehaviourCode.red_light)
    events = replay(eng, [before, after], timeline(PLAN))
    assert [e.track_id for e in events] == [7]
    assert eng.linked == 1


def test_an_id_switch_does_not_report_a_lane_violation_twice() -> None:
    points = line((250, 990), (250, 520), 60)
    whole = track(points, cls=VehicleClass.motorbike, size=BIKE)
    first = TrackView(1, VehicleClass.motorbike, whole.observations[:40], ())
    second = TrackView(2, VehicleClass.motorbike, whole.observations[50:], ())
    events = replay(engine(BehaviourCode.wrong_lane), [first, second], None)
    assert len(events) == 1


def test_two_vehicles_are_two_violations() -> None:
    cars = [runner(12.0, 1, x=200), runner(12.5, 2, x=330)]
    events = replay(engine(BehaviourCode.red_light), cars, timeline(PLAN))
    assert sorted(e.track_id for e in events) == [1, 2]


def test_cool_down_between_reports_of_a_lasting_violation() -> None:
    points = line((250, 990), (250, 900), 60) + still((250, 900), 12)
    parked = track(points, cls=VehicleClass.motorbike, size=BIKE)
    assert len(replay(engine(BehaviourCode.wrong_lane, cooldown_s=30), [parked], None)) == 1
    again = replay(engine(BehaviourCode.wrong_lane, cooldown_s=5), [parked], None)
    assert len(again) == 3  # 13.5 s in the lane: reported at about 1, 6 and 11 s
    times = [e.violation.occurred_at for e in again]
    assert all((b - a).total_seconds() > 5 for a, b in zip(times, times[1:], strict=False))


def test_only_enabled_rules_run() -> None:
    bike = track(
        line((250, 950), (250, 100), 150), start=12.0, cls=VehicleClass.motorbike, size=BIKE
    )
    events = replay(engine(BehaviourCode.wrong_lane), [bike], timeline(PLAN))
    assert [e.violation.behaviour for e in events] == [BehaviourCode.wrong_lane]


def test_helmet_events_are_marked_experimental_and_name_the_rider() -> None:
    bike = track(line((550, 950), (550, 550), 100), cls=VehicleClass.motorbike, size=BIKE)
    riders = (rider(bike, track_id=40, ahead=11, helmet=0.1),)
    bike = TrackView(3, VehicleClass.motorbike, bike.observations, riders)
    events = replay(engine(BehaviourCode.no_helmet), [bike], None)
    assert len(events) == 1
    assert events[0].violation.experimental
    assert events[0].rider_track_ids == (40,)
    assert events[0].violation.helmet is not None


def test_engine_from_the_device_config() -> None:
    config = make_device_config(rules={"enabled": ["red_light"], "cooldown_s": 12})
    eng = RuleEngine.from_config(config)
    assert eng.enabled == [BehaviourCode.red_light]
    assert eng.cooldown.total_seconds() == 12
    assert at(0) < at(1 / FPS)
