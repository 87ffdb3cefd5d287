"""The fixed-time plan as a timeline."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from edge_agent.signal.fixed_plan import FixedPlanTimeline
from protocol.config import FixedPlan
from protocol.enums import SignalPhase

MIDNIGHT = datetime(2026, 3, 18, tzinfo=timezone.utc)
G, A, R = SignalPhase.green, SignalPhase.amber, SignalPhase.red


def plan(steps: list[tuple[str, float]], offset: float = 0.0) -> FixedPlanTimeline:
    data = {
        "cycle_s": sum(d for _, d in steps),
        "phases": [{"colour": c, "duration_s": d} for c, d in steps],
        "offset_s": offset,
    }
    return FixedPlanTimeline(FixedPlan.model_validate(data))


def at(seconds: float) -> datetime:
    return MIDNIGHT + timedelta(seconds=seconds)


def test_phases_repeat_every_cycle_from_the_offset() -> None:
    timeline = plan([("green", 30), ("amber", 3), ("red", 27)], offset=10)
    assert timeline.interval_at(at(10)).phase is G
    assert timeline.interval_at(at(41)).phase is A
    red = timeline.interval_at(at(8 * 3600 + 10 + 50))
    assert red.phase is R and red.start == at(8 * 3600 + 10 + 33)
    amber = timeline.interval_before(red)
    assert amber.phase is A and amber.duration_s == pytest.approx(3)
    assert timeline.settled_until() is not None


def test_red_steps_around_the_cycle_boundary_are_one_red() -> None:
    # The plan starts with the end of a red (all-red clearance) and ends with red again.
    timeline = plan([("red", 5), ("green", 25), ("amber", 3), ("red", 27)])
    red = timeline.interval_at(at(62))
    assert red.phase is R and red.start == at(33) and red.end == at(65)
    assert timeline.interval_before(red).phase is A


def test_consecutive_steps_of_a_colour_merge() -> None:
    timeline = plan([("green", 20), ("amber", 3), ("red", 2), ("red", 25)])
    red = timeline.interval_at(at(30))
    assert red.start == at(23) and red.duration_s == pytest.approx(27)


def test_a_cycle_that_does_not_divide_the_day_restarts_at_the_offset() -> None:
    timeline = plan([("green", 40), ("amber", 3), ("red", 54)])  # 97 s
    last = timeline.interval_at(at(86400 - 1))
    assert last.end == at(86400)  # cut short by the next day's first cycle
    first = timeline.interval_at(at(86400 + 1))
    assert first.phase is G and first.start == at(86400)
