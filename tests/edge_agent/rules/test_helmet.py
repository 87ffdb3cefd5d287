"""Helmet rules: the front rider is the driver; verdicts must be steady and agree."""

from __future__ import annotations

import numpy as np
import pytest

from edge_agent.rules.heads import BaselineHeadClassifier
from edge_agent.rules.helmet import head_box, helmet_finding, judge_riders
from edge_agent.rules.settings import RuleSettings
from edge_agent.rules.types import RiderObs, RiderView, TrackView
from protocol.enums import BehaviourCode, RiderPosition, VehicleClass
from tests.edge_agent.rules.helpers import BIKE, calibration, line, rider, still, track
from tests.scenes.render import render_head

S = RuleSettings()
NO, PASSENGER = BehaviourCode.no_helmet, BehaviourCode.passenger_no_helmet


def bike_with(
    driver: float | None, passenger: float | None = None, *, up: bool = True
) -> TrackView:
    """A motorbike riding up (or down) the image with a driver and maybe a passenger."""
    path = line((550, 950), (550, 550), 100) if up else line((550, 550), (550, 950), 100)
    bike = track(path, cls=VehicleClass.motorbike, size=BIKE)
    sign = 1 if up else -1  # the driver sits ahead along the travel
    riders = [rider(bike, track_id=10, ahead=11 * sign, helmet=driver)]
    if passenger is not None:
        riders.append(rider(bike, track_id=11, ahead=-11 * sign, helmet=passenger))
    return TrackView(bike.track_id, bike.vehicle_class, bike.observations, tuple(riders))


def found(code: BehaviourCode, bike: TrackView) -> bool:
    return helmet_finding(code, bike, calibration(), S, None) is not None


def test_head_box_is_the_top_of_the_person() -> None:
    x1, y1, x2, y2 = head_box((100, 200, 130, 254))
    assert y1 == 200 and y2 == pytest.approx(200 + 0.26 * 54)
    assert x1 >= 100 and x2 <= 130 and (x1 + x2) / 2 == 115


@pytest.mark.parametrize("up", [True, False])
def test_driver_without_helmet(up: bool) -> None:
    bike = bike_with(driver=0.1, passenger=0.95, up=up)
    assert found(NO, bike) and not found(PASSENGER, bike)
    finding, riders = helmet_finding(NO, bike, calibration(), S, None)  # type: ignore[misc]
    assert riders == (10,)
    facts = finding.helmet
    assert facts is not None
    assert [r.position for r in facts.riders] == [RiderPosition.driver, RiderPosition.passenger]
    assert facts.riders[0].helmet_score == pytest.approx(0.1)
    assert facts.riders[0].person_box is not None


@pytest.mark.parametrize("up", [True, False])
def test_passenger_without_helmet(up: bool) -> None:
    bike = bike_with(driver=0.9, passenger=0.05, up=up)
    assert found(PASSENGER, bike) and not found(NO, bike)


def test_everyone_with_a_helmet() -> None:
    assert not found(NO, bike_with(0.9, 0.8)) and not found(PASSENGER, bike_with(0.9, 0.8))


def test_a_bike_at_rest_faces_the_approach() -> None:
    bike = track(still((550, 700), 2), cls=VehicleClass.motorbike, size=BIKE)
    front = rider(bike, track_id=10, ahead=11, helmet=0.9)  # further up the image
    back = rider(bike, track_id=11, ahead=-11, helmet=0.1)
    parked = TrackView(1, VehicleClass.motorbike, bike.observations, (front, back))
    assert found(PASSENGER, parked) and not found(NO, parked)


def test_too_few_verdicts_decide_nothing_until_the_track_ends() -> None:
    short = track(line((550, 950), (550, 900), 100), cls=VehicleClass.motorbike, size=BIKE)
    driver = rider(short, track_id=10, ahead=0, helmet=0.1)  # 6 frames: not 2 × 5
    bike = TrackView(1, VehicleClass.motorbike, short.observations, (driver,))
    assert not found(NO, bike)
    ended = TrackView(1, VehicleClass.motorbike, short.observations, (driver,), ended=True)
    assert found(NO, ended)


def test_verdicts_that_disagree_decide_nothing() -> None:
    bike = bike_with(driver=None)
    flicker = [
        RiderObs(o.t, o.frame_seq, o.box, o.score, 0.1 if k % 3 else 0.95)
        for k, o in enumerate(bike.riders[0].observations)
    ]
    mixed = TrackView(
        1, VehicleClass.motorbike, bike.observations, (RiderView(10, tuple(flicker)),)
    )
    assert not found(NO, mixed)


def test_a_rider_track_that_keeps_breaking_is_not_trusted() -> None:
    bike = bike_with(driver=0.1)
    pieces = [RiderView(100 + k, (o,)) for k, o in enumerate(bike.riders[0].observations)]
    broken = TrackView(1, VehicleClass.motorbike, bike.observations, tuple(pieces))
    assert judge_riders(broken, calibration(), S) == []


def test_only_motorbikes_are_judged() -> None:
    car = bike_with(driver=0.1)
    as_car = TrackView(1, VehicleClass.car, car.observations, car.riders)
    assert not found(NO, as_car)


def test_baseline_head_classifier_tells_drawn_helmets_from_hair() -> None:
    rng = np.random.default_rng(3)
    heads = BaselineHeadClassifier()
    with_helmet = [heads.helmet_probability(render_head(True, i, 54, rng)) for i in range(20)]
    bare = [heads.helmet_probability(render_head(False, i, 54, rng)) for i in range(20)]
    assert min(with_helmet) > 0.7 and max(bare) < 0.3
    assert heads.helmet_probability(np.zeros((0, 0, 3), np.uint8)) == 0.5
