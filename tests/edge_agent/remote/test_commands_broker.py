"""Every command over a real broker, answered on the reply topic and signed by the box."""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_agent.dead_letter import DeadLetterStore
from edge_agent.outbox import Outbox
from edge_agent.remote.logs import RecentLog
from protocol.commands import Command, seal_command
from protocol.enums import AckStatus, CommandName, CommandResult
from tests.edge_agent.packets import FORGER_KEY, make_packet
from tests.edge_agent.remote.box import BoxFiles, Centre, make_box, supervised
from tests.fixtures.brokers import BrokerEndpoint


@pytest.fixture
def box(tmp_path: Path, broker: BrokerEndpoint) -> BoxFiles:
    return make_box(tmp_path / "box", broker)


@pytest.fixture
def centre(box: BoxFiles) -> Iterator[Centre]:
    centre = Centre(box)
    yield centre
    centre.close()


def dead_letter(box: BoxFiles) -> str:
    """Leave one packet the server rejected in the box's outbox; its id."""
    outbox = Outbox(Path(box.data["outbox"]["path"]), max_bytes=10**8, min_free_bytes=0)
    try:
        packet = make_packet(3)
        outbox.put(packet.packet_id, packet.seq, packet.data)
        (item,) = outbox.due(1)
        outbox.mark_published(item.packet_id)
        outbox.acked(packet.packet_id, item.sha256, AckStatus.rejected, reason="unknown_device")
        assert [d.packet_id for d in DeadLetterStore(outbox).list()] == [packet.packet_id]
    finally:
        outbox.close()
    return str(packet.packet_id)


def test_snapshot_log_resend_and_restart_are_each_answered(
    box: BoxFiles, centre: Centre, caplog: pytest.LogCaptureFixture
) -> None:
    letter = dead_letter(box)
    caplog.set_level(logging.INFO)
    log = RecentLog()
    logger = logging.getLogger()
    logger.addHandler(log)
    try:
        with supervised(box, log=log) as supervisor:
            centre.status(lambda s: s.metrics is not None and s.metrics.pipeline.fps_in > 0)
            snap = centre.reply(centre.command({"name": "snapshot", "max_width": 160}))
            logs = centre.reply(centre.command({"name": "log_upload", "max_bytes": 100_000}))
            resend = centre.reply(centre.command({"name": "dead_letter_resend"}))
            first_agent = supervisor.agent
            restart = centre.reply(centre.command({"name": "restart", "reason": "thử / test"}))
            deadline = time.monotonic() + 30
            while supervisor.agent in (first_agent, None) and time.monotonic() < deadline:
                time.sleep(0.1)
            restarted = supervisor.agent is not first_agent and supervisor.agent is not None
    finally:
        logger.removeHandler(log)

    assert (snap.name, snap.result) == (CommandName.snapshot, CommandResult.ok)
    assert snap.snapshot is not None and (snap.snapshot.width, snap.snapshot.height) == (160, 120)
    image = cv2.imdecode(np.frombuffer(snap.snapshot.data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (120, 160, 3)
    assert logs.result is CommandResult.ok and logs.log is not None
    text = logs.log.data
    if logs.log.mime == "application/gzip":
        text = gzip.decompress(text)
    assert b"running command" in text and b"snapshot" in text
    assert resend.result is CommandResult.ok
    assert [str(p) for p in resend.resent] == [letter]
    assert restart.result is CommandResult.ok and "restarting" in restart.message
    assert restarted


def test_expired_forged_foreign_and_replayed_commands_are_refused(
    box: BoxFiles, centre: Centre, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(timezone.utc)
    with supervised(box) as supervisor:
        centre.status(lambda s: s.metrics is not None)
        agent = supervisor.agent
        expired = centre.command(
            {"name": "restart"}, issued_at=now - timedelta(hours=2), expires_at=now
        )
        forged_id = centre.command({"name": "restart"}, ttl_s=300)
        first = centre.reply(forged_id)  # the genuine one ran (and restarted the agent)
        forged = Command(
            command_id=forged_id,
            device_id=box.device_id,
            issued_at=now,
            expires_at=now + timedelta(minutes=5),
            args={"name": "log_upload"},
        )
        centre.send(seal_command(forged, FORGER_KEY))
        replayed = centre.command({"name": "snapshot"}, command_id=forged_id)
        foreign = centre.command({"name": "snapshot"}, device_id="other-box")
        answers = {
            "expired": centre.reply(expired),
            "forged": centre.reply(forged_id),
            "replayed": centre.reply(replayed),
            "foreign": centre.reply(foreign),
        }
        deadline = time.monotonic() + 30
        while supervisor.agent in (agent, None) and time.monotonic() < deadline:
            time.sleep(0.1)
        centre.status(lambda s: s.metrics is not None and s.metrics.pipeline.fps_in > 0)
    restarts = [r for r in caplog.records if "restarting the agent on command" in r.getMessage()]
    assert len(restarts) == 1  # only the genuine restart ran

    assert first.result is CommandResult.ok
    assert answers["expired"].result is CommandResult.expired
    assert "expired at" in answers["expired"].message
    assert answers["forged"].result is CommandResult.refused
    assert "signed by key" in answers["forged"].message
    assert answers["replayed"].result is CommandResult.refused
    assert "already run" in answers["replayed"].message
    assert answers["foreign"].result is CommandResult.refused
    assert "for device other-box" in answers["foreign"].message
