"""Lane rules: solid line, wrong lane, wrong way, illegal lane change."""

from __future__ import annotations

from datetime import timedelta

from edge_agent.rules.lane import illegal_lane_change, solid_line, wrong_lane, wrong_way
from edge_agent.rules.settings import RuleSettings
from protocol.enums import BehaviourCode, VehicleClass
from tests.edge_agent.rules.helpers import BIKE, at, calibration, line, still, track

S = RuleSettings()
SPEED = 120.0


def test_crossing_the_solid_line_either_way() -> None:
    left_to_right = track(line((250, 950), (250, 800), SPEED) + line((250, 800), (550, 650), SPEED))
    finding = solid_line(left_to_right, calibration(), S, None)
    assert finding is not None and finding.behaviour is BehaviourCode.solid_line
    assert finding.lane is not None and finding.lane.line_id == "s1" and finding.lane.lane_id == "a"
    right_to_left = track(
        line((550, 880), (250, 700), SPEED), cls=VehicleClass.motorbike, size=BIKE
    )
    assert solid_line(right_to_left, calibration(), S, None) is not None


def test_driving_along_the_solid_line_or_past_its_end_is_not_crossing_it() -> None:
    along = track(line((395, 950), (395, 520), SPEED), jitter=[0, 4, -4])
    assert solid_line(along, calibration(), S, None) is None
    beyond_end = track(line((250, 980), (550, 960), SPEED))  # below y=900 where the line ends
    assert solid_line(beyond_end, calibration(), S, None) is None


def test_a_class_in_a_lane_not_allowed_to_it() -> None:
    bike_in_car_lane = track(
        line((250, 950), (250, 520), SPEED), cls=VehicleClass.motorbike, size=BIKE
    )
    finding = wrong_lane(bike_in_car_lane, calibration(), S, None)
    assert finding is not None and finding.lane is not None
    assert finding.lane.lane_id == "a"
    assert VehicleClass.motorbike not in finding.lane.allowed_classes
    # It is reported once it has stayed `dwell_s` in the lane, not before.
    assert (finding.occurred_at - at(0)).total_seconds() >= S.dwell_s
    car = track(line((250, 950), (250, 520), SPEED))
    assert wrong_lane(car, calibration(), S, None) is None


def test_brushing_a_lane_briefly_is_not_driving_in_it() -> None:
    # A motorbike swerves into the car lane for half a second and back.
    points = line((450, 950), (350, 900), SPEED) + line((350, 900), (450, 850), SPEED)
    points += line((450, 850), (450, 600), SPEED)
    bike = track(points, cls=VehicleClass.motorbike, size=BIKE)
    assert wrong_lane(bike, calibration(), S, None) is None


def test_wrong_way_only_on_one_way_lanes() -> None:
    down = track(line((250, 520), (250, 980), SPEED))
    finding = wrong_way(down, calibration(), S, None)
    assert finding is not None and finding.lane is not None
    assert finding.lane.lane_direction_deg == 270
    assert abs(finding.lane.travel_direction_deg - 90) < 5  # type: ignore[operator]
    two_way = calibration(
        lanes=[
            {
                "id": "a",
                "polygon": [[100, 500], [400, 500], [400, 1000], [100, 1000]],
                "direction_deg": 270,
            }
        ]
    )
    assert wrong_way(down, two_way, S, None) is None
    assert wrong_way(track(line((250, 980), (250, 520), SPEED)), calibration(), S, None) is None


def test_a_parked_car_jittering_is_not_going_the_wrong_way() -> None:
    parked = track(still((250, 700), 10), jitter=[0, 5, -5, 3, -3, 6])
    assert wrong_way(parked, calibration(), S, None) is None


def test_changing_into_a_no_change_lane() -> None:
    # Below the solid line's end (y 900..1000) from lane a into lane b, settled in both.
    points = line((300, 995), (300, 990), 20) + still((300, 990), 1.5)
    points += line((300, 990), (500, 960), SPEED) + still((500, 960), 1.5)
    car = track(points)
    finding = illegal_lane_change(car, calibration(), S, None)
    assert finding is not None and finding.lane is not None and finding.lane.lane_id == "b"
    assert solid_line(car, calibration(), S, None) is None


def test_changes_between_lanes_that_allow_it_are_fine() -> None:
    free = calibration(
        lanes=[
            {"id": "a", "polygon": [[100, 500], [400, 500], [400, 1000], [100, 1000]]},
            {"id": "b", "polygon": [[400, 500], [700, 500], [700, 1000], [400, 1000]]},
        ]
    )
    points = line((250, 990), (250, 960), SPEED) + still((250, 960), 1.5)
    points += line((250, 960), (550, 930), SPEED) + still((550, 930), 1.5)
    assert illegal_lane_change(track(points), free, S, None) is None


def test_a_change_across_a_solid_line_is_that_rule_s_not_two_violations() -> None:
    points = line((250, 800), (250, 760), SPEED) + still((250, 760), 1.5)
    points += line((250, 760), (550, 700), SPEED) + still((550, 700), 1.5)
    car = track(points)
    assert solid_line(car, calibration(), S, None) is not None
    assert illegal_lane_change(car, calibration(), S, None, solid_line_enforced=True) is None
    assert illegal_lane_change(car, calibration(), S, None, solid_line_enforced=False) is not None


def test_since_skips_what_was_already_reported() -> None:
    bike = track(line((250, 950), (250, 520), SPEED), cls=VehicleClass.motorbike, size=BIKE)
    first = wrong_lane(bike, calibration(), S, None)
    assert first is not None
    later = wrong_lane(bike, calibration(), S, first.occurred_at)
    assert later is not None and later.occurred_at > first.occurred_at  # still in the lane
    assert wrong_lane(bike, calibration(), S, first.occurred_at + timedelta(seconds=30)) is None
