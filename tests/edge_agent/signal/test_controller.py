"""The controller input: tokens, a fake line, and a real serial line (a pty)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from edge_agent.signal import create_signal
from edge_agent.signal.controller import ControllerSignal, SerialLineReader, parse_token
from protocol.config import Calibration, SignalSection
from protocol.enums import SignalPhase, SignalSource

T0 = datetime(2026, 3, 18, 8, 0, tzinfo=timezone.utc)


class ListReader:
    """A line that yields the given tokens, then times out."""

    def __init__(self, tokens: list[str | None]) -> None:
        self.tokens = list(tokens)
        self.closed = False

    def read_token(self, timeout_s: float) -> str | None:
        return self.tokens.pop(0) if self.tokens else None

    def close(self) -> None:
        self.closed = True


class Clock:
    """A clock that advances 0.1 s a call."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> datetime:
        self.n += 1
        return T0 + timedelta(seconds=self.n / 10)


@pytest.mark.parametrize(
    ("token", "active_high", "phase"),
    [
        ("1", True, SignalPhase.red),
        ("0", True, SignalPhase.unknown),
        ("0", False, SignalPhase.red),
        ("R", True, SignalPhase.red),
        (" yellow\r", True, SignalPhase.amber),
        ("G", True, SignalPhase.green),
        ("?", True, None),
    ],
)
def test_tokens(token: str, active_high: bool, phase: SignalPhase | None) -> None:
    assert parse_token(token, active_high=active_high) is phase


def test_red_only_wire_gives_red_onsets_and_no_amber() -> None:
    reader = ListReader(["0"] + [None] * 29 + ["1"] + [None] * 20 + ["bogus"])
    signal = ControllerSignal(reader, clock=Clock())
    for _ in range(52):
        signal.poll()
    red = signal.timeline.interval_at(T0 + timedelta(seconds=4))
    assert (
        red is not None
        and red.phase is SignalPhase.red
        and red.start == T0 + timedelta(seconds=3.1)
    )
    before = signal.timeline.interval_before(red)
    assert before is not None and before.phase is SignalPhase.unknown  # not red: amber or green
    assert signal.bad_tokens == 1
    assert signal.timeline.settled_until() == T0 + timedelta(seconds=5.2)  # held level re-read
    signal.close()
    assert reader.closed


@pytest.fixture
def pty_line() -> Iterator[tuple[int, str]]:
    """A pseudo-terminal: write to the master what a controller would send on the serial port."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    yield master, path
    os.close(master)
    os.close(slave)


def test_serial_line_feeds_the_timeline_through_its_thread(pty_line: tuple[int, str]) -> None:
    master, path = pty_line
    signal = ControllerSignal(SerialLineReader(path, 9600), poll_s=0.05)
    signal.start()
    os.write(master, b"G\r\n")
    done = threading.Event()
    for _ in range(100):  # wait for the thread to have read the state (no timing asserted)
        if signal.timeline.current() is not None:
            break
        done.wait(0.02)
    os.write(master, b"\r\nA\nR\n")
    for _ in range(100):
        current = signal.timeline.current()
        if current is not None and current.phase is SignalPhase.red:
            break
        done.wait(0.02)
    signal.close()
    phases = [i.phase for i in signal.timeline.intervals()]
    assert phases == [SignalPhase.green, SignalPhase.amber, SignalPhase.red]


def test_serial_reader_refuses_odd_baud_rates(pty_line: tuple[int, str]) -> None:
    with pytest.raises(ValueError, match="baud"):
        SerialLineReader(pty_line[1], 12345)


def test_create_signal_for_each_source(pty_line: tuple[int, str]) -> None:
    calibration = Calibration.model_validate({"light_region": {"box": [10, 10, 20, 40]}})
    classifier = create_signal(SignalSection(), calibration)
    assert classifier.timeline.source is SignalSource.classifier
    plan = {
        "cycle_s": 60,
        "phases": [{"colour": "green", "duration_s": 30}, {"colour": "red", "duration_s": 30}],
    }
    fixed = create_signal(
        SignalSection.model_validate({"source": "fixed_plan", "fixed_plan": plan}), calibration
    )
    assert fixed.timeline.source is SignalSource.fixed_plan
    wired = SignalSection.model_validate(
        {"source": "controller", "controller": {"kind": "serial", "port": pty_line[1]}}
    )
    controller = create_signal(wired, calibration)
    assert controller.timeline.source is SignalSource.controller
    controller.close()
    with pytest.raises(ValueError, match="light_region"):
        create_signal(SignalSection(), Calibration())
