"""The whole agent on real footage with the red-light rule on: its violations become packets.

The sample (`car-detection.mp4`) replayed as fast as possible through the real detector, tracker,
rule stage, segment buffer and builder; the stop line is where the sample's red car crosses
(y = 270, driving up the image) and the fixed signal plan is red for the whole run. No broker is
needed: the packets wait in the outbox, which is what is checked.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from edge_agent.agent.assemble import StartupError, build_agent
from edge_agent.agent.runtime import Agent
from edge_agent.evidence.clip import probe_clip
from protocol.config import DeviceConfig
from protocol.enums import BehaviourCode, MediaRole
from protocol.envelope import EvidencePacket, open_packet
from protocol.keys import (
    Ed25519PrivateKey,
    generate_private_key,
    private_key_to_pem,
    public_key_to_pem,
)
from tests.edge_agent.capture.media import install_models, sample_video
from tests.factories import fixed_server_key

WAIT_S = 120.0  # generous bound for a busy machine; never a timing assertion
EVIDENCE_ORDER = ["outbox", "evidence", "segments", "rules", "track", "detect", "capture"]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manifest's models, installed from the shared copies (skipped where absent)."""
    return install_models(tmp_path_factory.mktemp("models"))


def red_all_along(now: datetime) -> dict[str, Any]:
    """A fixed plan whose red began a second ago and lasts the whole test."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    offset = ((now - midnight).total_seconds() - 1.0) % 120
    return {
        "cycle_s": 120,
        "offset_s": offset,
        "phases": [
            {"colour": "red", "duration_s": 110},
            {"colour": "green", "duration_s": 7},
            {"colour": "amber", "duration_s": 3},
        ],
    }


@pytest.fixture
def box(tmp_path: Path, models: Path) -> Iterator[tuple[DeviceConfig, Ed25519PrivateKey, Path]]:
    """A box's config on the sample with the red-light rule on, its key, and its models."""
    key = generate_private_key()
    (tmp_path / "device.pem").write_bytes(private_key_to_pem(key))
    server = tmp_path / "server.pem"
    server.write_bytes(public_key_to_pem(fixed_server_key().public_key()))
    config = DeviceConfig.model_validate(
        {
            "device": {
                "id": "cam-test-01",
                "site_id": "dh-ltk-thd",
                "camera_id": "north",
                "location": {"lat": 17.4683, "lon": 106.6229},
            },
            "mqtt": {"host": "127.0.0.1", "port": 9, "reconnect_max_s": 1},  # nobody listens
            "camera": {
                "source": str(sample_video()),
                "kind": "file",
                "width": 768,
                "height": 432,
                "realtime": False,
            },
            "detector": {"motion_gate": False},
            "rules": {"enabled": ["red_light"]},
            "signal": {
                "source": "fixed_plan",
                "fixed_plan": red_all_along(datetime.now(timezone.utc)),
            },
            "calibration": {"stop_line": [[0, 270], [768, 270]]},
            "outbox": {
                "path": str(tmp_path / "outbox" / "outbox.sqlite3"),
                "max_bytes": 64 * 1024 * 1024,
                "min_free_bytes": 0,
                "dead_letter_path": str(tmp_path / "dead_letters"),
            },
            "keys": {"device_key": str(tmp_path / "device.pem"), "server_public_key": str(server)},
        }
    )
    yield config, key, models


def outbox_packets(config: DeviceConfig, key: Ed25519PrivateKey) -> list[EvidencePacket]:
    """Every packet the agent left in its outbox, verified with the box's public key."""
    with sqlite3.connect(config.outbox.path) as conn:
        rows = conn.execute(
            "SELECT b.data FROM outbox o JOIN outbox_blob b USING (packet_id) ORDER BY o.seq"
        ).fetchall()
    return [open_packet(bytes(data), key.public_key()) for (data,) in rows]


def wait_for(condition: Any) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


def evidence_of(agent: Agent) -> Any:
    assert agent.parts.evidence is not None
    return agent.parts.evidence


@pytest.mark.slow  # the whole file through the detector: ~20 s on a busy machine
def test_the_agent_on_real_footage_puts_its_red_light_violation_in_the_outbox(
    box: tuple[DeviceConfig, Ed25519PrivateKey, Path],
) -> None:
    config, key, models = box
    agent = build_agent(config, models_dir=models)
    agent.start()
    assert agent.wait(WAIT_S)  # the file ends
    agent.stop()
    assert [n for n in agent.start_order if n in EVIDENCE_ORDER] == EVIDENCE_ORDER
    assert agent.stop_order.index("evidence") < agent.stop_order.index("outbox")

    packets = outbox_packets(config, key)  # signatures and part hashes verified
    assert packets, "the red car crossing on red made no packet"
    header = packets[0].header
    violation = header.violation
    assert violation.behaviour is BehaviourCode.red_light
    assert violation.signal is not None and violation.signal.time_into_red_s is not None
    assert header.model.name == "yolox_nano" and header.seq == 0
    # The frame at the line: the first detection past the crossing (its time is interpolated).
    key_point = next(p for p in violation.track if p.t >= violation.occurred_at)
    scene_at = header.part(MediaRole.scene_at)
    assert scene_at is not None and scene_at.captured_at == key_point.t
    assert {MediaRole.scene_at, MediaRole.plate_crop, MediaRole.clip} <= {
        p.role for p in header.parts
    }
    clip = header.part(MediaRole.clip)
    assert clip is not None and clip.start_at is not None and clip.end_at is not None
    assert clip.start_at <= violation.occurred_at - timedelta(seconds=2)
    data = packets[0].part(MediaRole.clip)
    assert data is not None
    probe = probe_clip(bytes(data))
    assert probe.frames > 0 and (probe.width, probe.height) == (768, 432)
    figures = evidence_of(agent).figures()
    assert figures.built == len(packets) and figures.dropped == 0


def test_stopping_the_agent_during_the_post_roll_still_makes_the_packet(
    box: tuple[DeviceConfig, Ed25519PrivateKey, Path],
) -> None:
    config, key, models = box
    agent = build_agent(config, models_dir=models)
    agent.start()
    builder = evidence_of(agent)
    wait_for(lambda: builder.figures().submitted >= 1 or agent.wait(0))
    stopped_at = datetime.now(timezone.utc)
    agent.request_stop()
    agent.stop()

    (packet, *_) = outbox_packets(config, key)
    occurred = packet.header.violation.occurred_at
    assert stopped_at < occurred + timedelta(seconds=3)  # it was stopped within the post-roll
    clip = packet.header.part(MediaRole.clip)
    assert clip is not None and clip.end_at is not None
    assert clip.end_at < occurred + timedelta(seconds=3)  # cut short to what was recorded
    assert packet.header.part(MediaRole.scene_at) is not None


def test_a_box_without_its_key_does_not_start(
    box: tuple[DeviceConfig, Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    config, _, models = box
    keys = config.keys.model_copy(update={"device_key": str(tmp_path / "missing.pem")})
    with pytest.raises(StartupError, match="keys.device_key"):
        build_agent(config.model_copy(update={"keys": keys}), models_dir=models)
