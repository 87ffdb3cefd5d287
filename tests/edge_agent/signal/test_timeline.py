"""The debounced phase timeline."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from edge_agent.signal.timeline import PhaseTimeline
from protocol.enums import SignalPhase, SignalSource

T0 = datetime(2026, 3, 18, 8, 0, tzinfo=timezone.utc)
G, A, R, U = SignalPhase.green, SignalPhase.amber, SignalPhase.red, SignalPhase.unknown


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fed(readings: list[SignalPhase], fps: float = 10.0) -> PhaseTimeline:
    timeline = PhaseTimeline(SignalSource.classifier)
    for k, phase in enumerate(readings):
        timeline.observe(at(k / fps), phase)
    return timeline


def test_red_onset_is_back_dated_to_its_first_reading() -> None:
    timeline = fed([G] * 50 + [A] * 30 + [R] * 50)
    red = timeline.interval_at(at(12.0))
    assert red is not None and red.phase is R and red.start == at(8.0) and red.start_known
    amber = timeline.interval_before(red)
    assert amber is not None and amber.phase is A and amber.duration_s == pytest.approx(3.0)
    assert timeline.phase_at(at(7.9)) is A


def test_a_single_misread_frame_changes_nothing() -> None:
    timeline = fed([R] * 30 + [G] + [R] * 30 + [A, A] + [R] * 30)
    assert [i.phase for i in timeline.intervals()] == [R]


def test_a_short_occlusion_keeps_the_red_and_a_blackout_becomes_unknown() -> None:
    short = fed([R] * 30 + [U] * 10 + [R] * 30)  # a bus hides the light for a second
    assert [i.phase for i in short.intervals()] == [R]
    long = fed([R] * 30 + [U] * 30 + [R] * 30)
    assert [i.phase for i in long.intervals()] == [R, U, R]
    assert long.intervals()[-1].start_known


def test_the_first_phase_seen_has_no_known_start() -> None:
    timeline = fed([R] * 20)
    current = timeline.current()
    assert current is not None and not current.start_known
    assert timeline.interval_before(current) is None


def test_settled_until_stops_at_a_pending_change() -> None:
    timeline = fed([G] * 20 + [R])  # one red reading: not yet a phase change
    assert timeline.settled_until() == at(2.0)
    assert timeline.phase_at(at(2.0)) is G  # provisional, and not settled
    for k in range(1, 5):
        timeline.observe(at(2.0 + k / 10), R)
    assert timeline.phase_at(at(2.0)) is R
    assert timeline.settled_until() == at(2.4)


def test_outside_what_was_read_is_unknown() -> None:
    timeline = fed([G] * 10)
    assert timeline.interval_at(at(5.0)) is None
    assert timeline.phase_at(at(-1.0)) is U


def test_late_readings_are_ignored_and_old_history_forgotten() -> None:
    timeline = PhaseTimeline(SignalSource.classifier, history_s=10)
    for k in range(300):
        timeline.observe(at(k / 10), G if (k // 50) % 2 == 0 else R)
    timeline.observe(at(1.0), R)  # out of order
    assert timeline.intervals()[0].start >= at(10.0)
    assert timeline.phase_at(at(29.0)) is R
