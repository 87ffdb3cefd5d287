"""`trafficwatch demo` runs the real agent on the sample footage against the server: a red-light
violation made from real detections is signed, sent, verified and stored for review."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from central_server import db
from central_server.evidence_store import FilesystemEvidenceStore
from central_server.models import EvidencePart, Packet, Violation
from protocol.enums import BehaviourCode, MediaRole
from protocol.envelope import decode_packet
from tests.edge_agent.capture.media import sample_video, shared_models_dir


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow  # the sample's red car reaches the stop line 17 s into the video
def test_the_demo_stores_a_red_light_violation_from_the_footage(tmp_path: Path) -> None:
    video = sample_video()
    models = shared_models_dir()
    if not models.is_dir():
        pytest.skip(f"{models} absent: the shared model copies are not on this machine")
    data_dir = tmp_path / "demo"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "trafficwatch.cli",
            "demo",
            "--data-dir",
            str(data_dir),
            "--video",
            str(video),
            "--models-from",
            str(models),
            "--count",
            "1",
            "--api-port",
            str(_free_port()),
            "--mqtt-port",
            str(_free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "1 violation(s) stored" in proc.stdout
    assert "/api/v1/review/queue" in proc.stdout
    assert "Đã dừng / stopped." in proc.stdout

    engine = db.make_engine(f"sqlite:///{data_dir / 'trafficwatch.db'}")
    try:
        with db.session_scope(engine, read_only=True) as session:
            violations = session.exec(select(Violation)).all()
            assert len(violations) >= 1
            violation = violations[0]
            assert violation.behaviour is BehaviourCode.red_light
            assert violation.status.value == "pending_review"
            packet = session.get(Packet, violation.packet_id)
            assert packet is not None
            blob = packet.blob_sha256
            query = select(EvidencePart).where(EvidencePart.packet_id == packet.packet_id)
            roles = {part.role for part in session.exec(query).all()}
    finally:
        engine.dispose()
    assert {MediaRole.scene_at, MediaRole.plate_crop, MediaRole.clip} <= roles
    # What the box signed: the detector's own model, the track the tracker followed.
    store = FilesystemEvidenceStore(data_dir / "evidence")
    header = decode_packet(store.get(blob)).header
    assert header.model.name == "yolox_nano" and header.model.sha256 != "0" * 64
    assert len(header.violation.track) >= 2
    assert (
        header.violation.signal is not None and header.violation.signal.source.value == "fixed_plan"
    )
