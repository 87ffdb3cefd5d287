"""The agent's pipeline on real video files: every frame accounted for, ordered start and stop."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge_agent.agent.messages import TrackedFrame
from edge_agent.agent.motion import MotionGate
from edge_agent.agent.runtime import Agent, AgentParts
from edge_agent.capture.av_source import AvSource
from protocol.enums import CameraProblem, DeviceState
from tests.edge_agent.agent.fakes import BrightBoxDetector
from tests.edge_agent.capture.media import encode, moving_square, write_video
from tests.edge_agent.capture.stream_server import BreakableStream

WAIT_S = 60.0
START_ORDER = ["rules", "track", "detect", "capture", "health", "watchdog"]


class Recorder:
    """A rule consumer that keeps what it receives."""

    name = "recorder"

    def __init__(self) -> None:
        self.frames: list[TrackedFrame] = []
        self.closed = False

    def consume(self, tracked: TrackedFrame) -> None:
        self.frames.append(tracked)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def make_agent(
    clip: Path, detector: BrightBoxDetector, recorder: Recorder, *, live: bool = False, **kw: object
) -> Agent:
    parts = AgentParts(
        device_id="cam-test-01",
        make_source=lambda: AvSource(str(clip), live=False, realtime=live),
        make_detector=lambda: detector,
        live=live,
        make_rules=lambda: recorder,
        heartbeat_s=1.0,
        **kw,  # type: ignore[arg-type]
    )
    return Agent(parts)


def run_to_end(agent: Agent) -> None:
    agent.start()
    try:
        assert agent.wait(WAIT_S), "the agent did not reach the end of the file"
    finally:
        agent.stop()


def test_a_file_replayed_flat_out_goes_through_whole_and_stops_in_reverse(
    square_clip: Path, recorder: Recorder
) -> None:
    detector = BrightBoxDetector()
    agent = make_agent(square_clip, detector, recorder)
    run_to_end(agent)

    assert [t.frame.seq for t in recorder.frames] == list(range(50))
    assert {o.track_id for t in recorder.frames for o in t.objects} == {1}  # one square, one track
    assert agent.snapshot().dropped_frames == 0
    assert agent.start_order == START_ORDER
    assert agent.stop_order == list(reversed(START_ORDER))
    assert detector.closed and recorder.closed
    assert agent.exit_code == 0


def test_a_live_camera_is_never_held_back_and_every_drop_is_counted(
    square_clip: Path, recorder: Recorder
) -> None:
    slow = BrightBoxDetector(delay_s=0.15)  # ~7 frames/s against a 25 frames/s camera
    agent = make_agent(square_clip, slow, recorder, live=True)
    run_to_end(agent)

    snapshot = agent.snapshot()
    assert snapshot.frames_in == 50  # capture kept the camera's pace and read every frame
    assert snapshot.dropped_frames > 0
    assert len(recorder.frames) + snapshot.dropped_frames == 50
    seqs = [t.frame.seq for t in recorder.frames]
    assert seqs == sorted(seqs)


def test_detecting_every_second_frame_lets_the_tracker_fill_the_gaps(
    square_clip: Path, recorder: Recorder
) -> None:
    detector = BrightBoxDetector()
    agent = make_agent(square_clip, detector, recorder, every_nth=2)
    run_to_end(agent)

    assert detector.calls == 25
    assert [t.detected for t in recorder.frames[:4]] == [True, False, True, False]
    assert all(len(t.objects) == 1 for t in recorder.frames[2:])  # predicted between detections
    assert agent.detect_counters.runs == 25 and agent.detect_counters.skipped == 25


def test_bad_frames_are_counted_and_the_stream_goes_on(
    square_clip: Path, recorder: Recorder
) -> None:
    flaky = BrightBoxDetector(fail_every=10)
    agent = make_agent(square_clip, flaky, recorder)
    run_to_end(agent)

    assert agent.stage_figures()["detect"].errors == 5
    assert len(recorder.frames) == 45
    assert agent.snapshot().dropped_frames == 5


def still_then_moving(count: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(3)
    for i in range(count):
        frame = rng.integers(99, 102, size=(240, 320, 3), dtype=np.uint8)  # a quiet sensor
        x = 20 if i < 30 else 20 + 6 * (i - 30)  # parked for 30 frames, then drives off
        frame[100:140, x : x + 40] = 230
        yield frame


def test_the_motion_gate_skips_still_frames(tmp_path: Path, recorder: Recorder) -> None:
    clip = write_video(tmp_path / "still.mp4", still_then_moving(50))
    detector = BrightBoxDetector()
    agent = make_agent(clip, detector, recorder, motion_gate=True)
    run_to_end(agent)

    assert len(recorder.frames) == 50
    parked = [t.detected for t in recorder.frames[1:30]]
    driving = [t.detected for t in recorder.frames[31:]]
    assert sum(parked) <= 2  # only a refresh now and then, to keep the parked car's track
    assert sum(driving) >= len(driving) // 2  # a few pixels a frame add up quickly
    assert all(len(t.objects) == 1 for t in recorder.frames)  # the tracker fills the rest


def test_motion_gate_ignores_sensor_noise_and_adds_up_slow_motion() -> None:
    rng = np.random.default_rng(4)
    gate = MotionGate()
    quiet = [rng.integers(98, 103, (480, 640, 3), dtype=np.uint8) for _ in range(3)]
    assert gate.moved(quiet[0])  # nothing seen yet: look
    gate.seen(quiet[0])
    assert not gate.moved(quiet[1]) and not gate.moved(quiet[2])
    moving = quiet[2].copy()
    moving[200:280, 300:380] = 240
    assert gate.moved(moving)


def wait_for(condition: object) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)
    assert condition(), "condition not reached in time"  # type: ignore[operator]


def test_a_dropped_camera_shows_in_the_heartbeat_until_it_is_back(recorder: Recorder) -> None:
    camera = BreakableStream(encode(moving_square(150), fmt="mpegts"))
    camera.start()
    camera.cut_after = len(camera.payload) // 3
    parts = AgentParts(
        device_id="cam-test-01",
        make_source=lambda: AvSource(camera.url, live=True, open_timeout_s=5, read_timeout_s=5),
        make_detector=BrightBoxDetector,
        live=True,
        make_rules=lambda: recorder,
    )
    agent = Agent(parts)
    agent.start()
    try:
        wait_for(lambda: agent.snapshot().frames_in > 0)
        wait_for(lambda: CameraProblem.disconnected in agent.snapshot().camera_problems)
        down = agent.health.heartbeat()
        before = agent.snapshot().frames_in
        camera.resume()
        wait_for(lambda: agent.snapshot().frames_in > before + 10)
        up = agent.health.heartbeat()
    finally:
        agent.stop()
        camera.close()

    assert down.state is DeviceState.degraded and down.metrics is not None
    assert [a.code for a in down.metrics.alarms] == ["camera_disconnected"]
    assert up.metrics is not None and CameraProblem.disconnected not in up.metrics.camera_problems
    assert before > 0
