"""Red light: who crossed the stop line on red, and who did not."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from edge_agent.rules.red_light import approach_direction, red_light
from edge_agent.rules.settings import RuleSettings
from edge_agent.rules.types import Finding, TrackView
from protocol.enums import BehaviourCode, SignalPhase, SignalSource
from tests.edge_agent.rules.helpers import at, calibration, line, still, timeline, track

G, A, R = SignalPhase.green, SignalPhase.amber, SignalPhase.red
PLAN = [(G, 0, 10), (A, 10, 13), (R, 13, 40), (G, 40, 60)]
SETTINGS = RuleSettings()
SPEED = 150.0  # px/s: from y=950 the car reaches the line (y=500) 3 s after it appears


def straight(x: float = 250, crossing_at: float = 15.0, **kw: object) -> TrackView:
    """A car going straight up through the line at `crossing_at` seconds."""
    return track(line((x, 950), (x, 100), SPEED), start=crossing_at - 3.0, **kw)  # type: ignore[arg-type]


def right_turn(x: float, crossing_at: float) -> TrackView:
    """Up to just past the line, then a quarter turn to the right and away."""
    points = line((x, 950), (x, 470), SPEED)
    centre = (x + 100, 470)
    steps = 10
    for k in range(1, steps + 1):
        phi = math.pi + math.pi / 2 * k / steps
        points.append((centre[0] + 100 * math.cos(phi), centre[1] + 100 * math.sin(phi)))
    points += line(points[-1], (x + 400, 370), SPEED)[1:]
    return track(points, start=crossing_at - 3.0)


Phases = Sequence[tuple[SignalPhase, float, float]]


def judge(car: TrackView, phases: Phases = PLAN, **cal: object) -> Finding | None:
    return red_light(car, calibration(**cal), timeline(phases), SETTINGS)


def test_running_the_red_is_reported_with_the_signal_facts() -> None:
    finding = judge(straight(crossing_at=15.0))
    assert finding is not None
    assert finding.behaviour is BehaviourCode.red_light
    assert abs((finding.occurred_at - at(15.0)).total_seconds()) < 0.05
    signal = finding.signal
    assert signal is not None
    assert signal.phase is R and signal.source is SignalSource.classifier
    assert signal.red_onset_at == at(13.0)
    assert signal.amber_duration_s == pytest.approx(3.0)
    assert signal.time_into_red_s == pytest.approx(2.0, abs=0.05)
    assert signal.grace_s == 0.5
    assert finding.speed_kmh == pytest.approx(150 * 0.05 * 3.6, rel=0.05)  # 27 km/h
    assert finding.lane is not None and finding.lane.lane_id == "a"


@pytest.mark.parametrize(
    ("crossing_at", "why"),
    [
        (13.3, "inside the grace"),
        (12.0, "on amber"),
        (12.9, "already past at red onset"),
        (5.0, "on green"),
        (45.0, "on the next green"),
    ],
)
def test_no_violation_without_a_red_crossing_after_the_grace(crossing_at: float, why: str) -> None:
    assert judge(straight(crossing_at=crossing_at)) is None, why


def test_a_vehicle_stopped_on_the_line_through_the_red_did_not_run_it() -> None:
    points = (
        line((250, 950), (250, 502), SPEED)
        + still((250, 502), 28)
        + line((250, 502), (250, 100), SPEED)
    )
    jitter = [0, 3, -3, 2, -2, 4, -4, 1]  # its box shakes across the line while it waits
    assert judge(track(points, start=10.0, jitter=jitter)) is None


def test_a_vehicle_that_stops_on_the_line_then_goes_on_red_ran_it() -> None:
    points = (
        line((250, 950), (250, 502), SPEED)
        + still((250, 502), 5)
        + line((250, 502), (250, 100), SPEED)
    )
    finding = judge(track(points, start=12.0, jitter=[0, 3, -3, 2]))
    assert finding is not None
    assert finding.signal is not None
    assert (finding.signal.time_into_red_s or 0.0) > 4.0


def test_right_turn_on_red_where_the_lane_allows_it() -> None:
    assert judge(right_turn(550, crossing_at=16.0)) is None


def test_right_turn_on_red_from_a_lane_that_does_not_allow_it() -> None:
    assert judge(right_turn(250, crossing_at=16.0)) is not None


def test_straight_on_from_the_right_turn_lane_is_running_the_red() -> None:
    assert judge(straight(x=550, crossing_at=16.0)) is not None


def test_no_verdict_in_the_right_turn_lane_until_the_turn_can_be_told() -> None:
    points = line((550, 950), (550, 470), SPEED)  # just past the line, then lost from view
    assert red_light(track(points, start=13.0), calibration(), timeline(PLAN), SETTINGS) is None
    gone = track(points, start=13.0, ended=True)
    assert red_light(gone, calibration(), timeline(PLAN), SETTINGS) is None


def test_unknown_red_onset_is_not_enough() -> None:
    # The box started during the red: how long it had been red is unknown.
    assert judge(straight(crossing_at=15.0), phases=[(R, 12, 40)]) is None


def test_amber_guard_refuses_a_suspiciously_short_amber() -> None:
    assert judge(straight(crossing_at=15.0), amber_guard_s=4.0) is None
    assert judge(straight(crossing_at=15.0), amber_guard_s=2.0) is not None


def test_a_red_only_controller_wire_cannot_show_amber_and_the_guard_allows_it() -> None:
    wire = timeline([(SignalPhase.unknown, 0, 13), (R, 13, 40)], SignalSource.controller)
    finding = red_light(straight(crossing_at=15.0), calibration(amber_guard_s=2.0), wire, SETTINGS)
    assert finding is not None and finding.signal is not None
    assert finding.signal.amber_duration_s is None
    assert finding.signal.source is SignalSource.controller


def test_waits_until_the_light_at_the_crossing_is_settled() -> None:
    car = straight(crossing_at=15.0)
    early = timeline([(G, 0, 10), (A, 10, 13), (R, 13, 14.9)])
    assert red_light(car, calibration(), early, SETTINGS) is None
    for k in range(20):
        early.observe(at(14.9 + k / 10), R)
    assert red_light(car, calibration(), early, SETTINGS) is not None


def test_crossing_the_other_way_or_beside_the_line_is_not_entering_the_junction() -> None:
    down = track(line((250, 100), (250, 950), SPEED), start=12.0)
    assert judge(down) is None
    assert judge(straight(x=800, crossing_at=15.0)) is None


def test_no_timeline_no_verdict() -> None:
    assert red_light(straight(), calibration(), None, SETTINGS) is None


def test_approach_direction_comes_from_the_lanes_or_the_config() -> None:
    assert approach_direction(calibration()) == pytest.approx(270)
    assert approach_direction(calibration(stop_line_direction_deg=90)) == 90
    assert approach_direction(calibration(lanes=[])) == 270  # up the image, away from the camera
    down = track(line((250, 100), (250, 950), SPEED), start=12.0)
    assert judge(down, stop_line_direction_deg=90) is not None
