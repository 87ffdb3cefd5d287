"""A pushed config over a real broker: applied and reported, or rolled back and reported."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from edge_agent.agent.assemble import StartupError, build_agent
from edge_agent.agent.config_loader import load_config
from edge_agent.agent.runtime import Agent
from edge_agent.remote.config_apply import recover_interrupted_trial, render_yaml
from edge_agent.remote.files import ConfigFiles
from edge_agent.remote.state import StateStore, Trial
from protocol.commands import config_report_id
from protocol.config import DeviceConfig, SignedConfig, config_sha256
from protocol.enums import CommandName, CommandResult, ConfigApplyState
from protocol.status import StatusHeartbeat
from tests.edge_agent.agent.fakes import BrightBoxDetector
from tests.edge_agent.packets import FORGER_KEY
from tests.edge_agent.remote.box import BoxFiles, Centre, make_box, supervised
from tests.fixtures.brokers import BrokerEndpoint, free_port

# End to end through real processes and brokers: in the slow suite (.ci/run runs it).
pytestmark = pytest.mark.slow


@pytest.fixture
def box(tmp_path: Path, broker: BrokerEndpoint) -> BoxFiles:
    return make_box(tmp_path / "box", broker)


@pytest.fixture
def centre(box: BoxFiles) -> Iterator[Centre]:
    centre = Centre(box)
    yield centre
    centre.close()


def signed_config(device_id: str, version: int, config: DeviceConfig) -> SignedConfig:
    return SignedConfig(
        device_id=device_id, version=version, issued_at=datetime.now(timezone.utc), config=config
    )


def running(sha: str) -> Callable[[StatusHeartbeat], bool]:
    """A heartbeat of a box running config `sha`, frames flowing."""

    def wanted(status: StatusHeartbeat) -> bool:
        m = status.metrics
        return m is not None and m.config_sha256 == sha and m.pipeline.fps_in > 0

    return wanted


def test_a_newer_config_is_applied_kept_on_disk_and_reported(box: BoxFiles, centre: Centre) -> None:
    old = load_config(box.config_path)
    new = box.config(tracker={"buffer_frames": 20}, detector={"every_nth_frame": 2})
    with supervised(box):
        centre.status(running(config_sha256(old)))
        centre.push(1, new)
        reply = centre.reply(config_report_id(box.device_id, 1))
        centre.status(running(config_sha256(new)))  # the next heartbeats say so too

    assert (reply.name, reply.result) == (CommandName.config, CommandResult.ok)
    assert reply.config is not None
    assert reply.config.state is ConfigApplyState.applied
    assert reply.config.config_sha256 == reply.config.running_sha256 == config_sha256(new)
    assert reply.config.running_version == 1
    files = ConfigFiles(box.config_path)
    assert config_sha256(load_config(files.path)) == config_sha256(new)
    assert config_sha256(load_config(files.previous)) == config_sha256(old)
    state = StateStore(files.state).read()
    assert (state.seen_version, state.running_version, state.trial) == (1, 1, None)


def test_a_config_whose_camera_delivers_no_frames_is_rolled_back(
    box: BoxFiles, centre: Centre
) -> None:
    old = load_config(box.config_path)
    dead_camera = f"rtsp://127.0.0.1:{free_port()}/none"
    new = box.config(camera={"source": dead_camera, "kind": "rtsp"})
    with supervised(box, trial_s=3):
        centre.status(running(config_sha256(old)))
        centre.push(1, new)
        reply = centre.reply(config_report_id(box.device_id, 1))
        centre.status(running(config_sha256(old)))  # back on the old config, frames flowing

    assert reply.result is CommandResult.failed
    assert reply.config is not None
    assert reply.config.state is ConfigApplyState.rolled_back
    assert reply.config.config_sha256 == config_sha256(new)
    assert reply.config.running_sha256 is None  # the technician's own file runs again
    assert "no frames for 3 s" in reply.message
    assert config_sha256(load_config(box.config_path)) == config_sha256(old)
    state = StateStore(ConfigFiles(box.config_path).state).read()
    assert (state.seen_version, state.trial) == (1, None)


def test_a_config_not_signed_by_the_server_for_another_box_or_older_is_refused(
    box: BoxFiles, centre: Centre
) -> None:
    old = load_config(box.config_path)
    with StateStore(ConfigFiles(box.config_path).state).update() as state:
        state.seen_version = 5  # the box already acted on version 5
    forger = Centre(box, key=FORGER_KEY, role="forger")
    try:
        with supervised(box):
            centre.status(running(config_sha256(old)))
            forger.push(7, box.config(tracker={"buffer_frames": 11}))
            forged = centre.reply(config_report_id(box.device_id, 7))
            centre.push(6, box.config(device={"id": "other-box"}), device_id="other-box")
            foreign = centre.reply(config_report_id(box.device_id, 6))
            centre.push(4, box.config(tracker={"buffer_frames": 12}))
            replayed = centre.reply(config_report_id(box.device_id, 4))
            centre.status(running(config_sha256(old)))
    finally:
        forger.client.close()

    for reply in (forged, foreign, replayed):
        assert reply.result is CommandResult.refused
        assert reply.config is not None and reply.config.state is ConfigApplyState.refused
    assert "not accepted" in forged.message and "signed by key" in forged.message
    assert "for device other-box" in foreign.message
    assert "older than version 5" in replayed.message
    assert config_sha256(load_config(box.config_path)) == config_sha256(old)


def test_the_retained_config_is_applied_at_start_and_not_twice(
    box: BoxFiles, centre: Centre
) -> None:
    new = box.config(tracker={"buffer_frames": 21})
    centre.push(3, new)  # retained: the box is off now
    with supervised(box):
        first = centre.reply(config_report_id(box.device_id, 3))
        centre.status(running(config_sha256(new)))
    with supervised(box):  # a reboot: the retained copy comes again, and is the one it runs
        centre.status(running(config_sha256(new)))

    assert first.config is not None and first.config.state is ConfigApplyState.applied
    with pytest.raises(AssertionError, match="no reply"):
        centre.reply(timeout=2)


def test_an_agent_that_died_mid_trial_is_rolled_back_at_the_next_start(
    box: BoxFiles, centre: Centre
) -> None:
    files = ConfigFiles(box.config_path)
    old_text = files.path.read_text(encoding="utf-8")
    new = box.config(tracker={"buffer_frames": 22})
    files.install(render_yaml(signed_config(box.device_id, 2, new)))
    with StateStore(files.state).update() as state:  # as left by a crash during the trial
        state.seen_version = 2
        state.trial = Trial(2, config_sha256(new), 0.0)

    assert recover_interrupted_trial(files)
    assert files.path.read_text(encoding="utf-8") == old_text
    with supervised(box):
        reply = centre.reply(config_report_id(box.device_id, 2))

    assert reply.config is not None and reply.config.state is ConfigApplyState.rolled_back
    assert "stopped while trying" in reply.message
    assert StateStore(files.state).read().trial is None


def failing_detectors(config: DeviceConfig) -> Agent:
    """A model that is missing (start-up fails), or one that fails on every frame."""
    if config.detector.model == "missing_model":
        raise StartupError("detector.model: không có mô hình / no model missing_model installed")
    fail = config.detector.threads == 3
    return build_agent(config, make_detector=lambda: BrightBoxDetector(fail_every=int(fail)))


def test_a_config_whose_detector_fails_is_rolled_back(box: BoxFiles, centre: Centre) -> None:
    old = load_config(box.config_path)
    with supervised(box, trial_s=10, builder=failing_detectors):
        centre.status(running(config_sha256(old)))
        centre.push(1, box.config(detector={"model": "missing_model"}))
        missing = centre.reply(config_report_id(box.device_id, 1))
        centre.push(2, box.config(detector={"threads": 3}))
        broken = centre.reply(config_report_id(box.device_id, 2))
        centre.status(running(config_sha256(old)))

    for reply in (missing, broken):
        assert reply.config is not None and reply.config.state is ConfigApplyState.rolled_back
    assert "does not start: detector.model" in missing.message
    assert re.search(r"the detector failed \d+ times", broken.message)
    assert config_sha256(load_config(box.config_path)) == config_sha256(old)
