"""`provision enroll` against the real API: a valid, an expired and a reused token."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from central_server.devices.enrolment import mosquitto_verify
from central_server.devices.models_enrolment import DeviceBrokerCredential, EnrolmentToken
from central_server.ingest.schemas import OutcomeKind
from central_server.models import Device, DeviceConfigArchive, DeviceKey
from edge_agent.agent.config_loader import load_config
from protocol.config import calibration_sha256, config_sha256
from protocol.keys import key_id, private_key_from_pem
from provisioning.sequence import next_sequence
from tests.central_server.devices.enrolment_helpers import ingest
from tests.provisioning.conftest import Live, Provision, Result


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _enroll(provision: Provision, live: Live, etc: Path, token: str, *extra: str | Path) -> Result:
    return provision(
        "enroll",
        "--server",
        live.url,
        "--token",
        token,
        "--config",
        etc / "config.yaml",
        "--state-dir",
        etc.parent / "state",
        "--camera-source",
        "rtsp://admin:secret@10.0.0.5/stream1",
        "--json",
        *extra,
    )


def test_a_box_enrols_writes_a_valid_config_and_keeps_its_key_private(
    provision: Provision, live: Live, tmp_path: Path
) -> None:
    etc = tmp_path / "etc"
    result = _enroll(provision, live, etc, live.token(camera_id="north"))
    assert result.code == 0, result.err
    summary = result.json
    config = load_config(etc / "config.yaml")  # what `agent run` will read
    assert config.device.id == summary["device_id"] == "dong-hoi-01-north"
    assert config.camera.source == "rtsp://admin:secret@10.0.0.5/stream1"
    assert config.rules.enabled == []  # nothing calibrated yet
    assert config.outbox.path == str(tmp_path / "state" / "outbox.sqlite3")
    key_file, password_file = Path(config.keys.device_key), Path(config.mqtt.password_file or "")
    assert key_file == etc / "device_key.pem" and _mode(key_file) == 0o600
    assert _mode(password_file) == 0o600 and _mode(etc / "config.yaml") == 0o640
    assert not (etc / "device_key.pem.new").exists()
    key = private_key_from_pem(key_file.read_bytes())
    with live.env.db.session() as session:
        device = session.get(Device, config.device.id)
        stored_key = session.exec(select(DeviceKey)).one()
        credential = session.get(DeviceBrokerCredential, config.device.id)
        archived = {row.sha256 for row in session.exec(select(DeviceConfigArchive)).all()}
    # The server knows the box, its key (the private half never left), its broker login ...
    assert device is not None and device.site_id == "dong-hoi-01"
    assert stored_key.key_id == key_id(key) == summary["key_id"]
    assert credential is not None
    assert mosquitto_verify(password_file.read_text().strip(), credential.password_hash)
    # ... and the config and calibration the box's packets will name by hash.
    assert {config_sha256(config), calibration_sha256(config.calibration)} <= archived
    assert (config.mqtt.username, config.mqtt.host) == (config.device.id, "127.0.0.1")
    assert (etc / "server_public_key.pem").read_text().startswith("-----BEGIN PUBLIC KEY")


def test_an_expired_token_is_refused_and_leaves_nothing_behind(
    provision: Provision, live: Live, tmp_path: Path
) -> None:
    token = live.token(ttl=timedelta(minutes=5))
    live.env.clock.advance(minutes=6)
    result = _enroll(provision, live, tmp_path / "etc", token)
    assert result.code == 77
    assert "hết hạn" in result.err and "expired" in result.err
    assert result.json["ok"] is False and "expired" in result.json["error"]
    assert not (tmp_path / "etc" / "config.yaml").exists()
    assert list((tmp_path / "etc").glob("device_key*")) == []


def test_a_reused_token_is_refused(provision: Provision, live: Live, tmp_path: Path) -> None:
    token = live.token()
    assert _enroll(provision, live, tmp_path / "first", token).code == 0
    second = _enroll(provision, live, tmp_path / "second", token)
    assert second.code == 77
    assert "đã được dùng" in second.err and "already been used" in second.err
    assert not (tmp_path / "second" / "config.yaml").exists()


def test_a_box_without_a_camera_source_is_stopped_before_the_token_is_spent(
    provision: Provision, live: Live, tmp_path: Path
) -> None:
    token = live.token()
    etc = tmp_path / "etc"
    result = provision(
        "enroll", "--server", live.url, "--token", token, "--config", etc / "config.yaml"
    )
    assert result.code == 2
    assert "camera.source" in result.err and "--camera-source" in result.err
    with live.env.db.session() as session:
        assert session.exec(select(EnrolmentToken)).one().used_at is None


def test_an_unreachable_server_is_exit_69(provision: Provision, tmp_path: Path) -> None:
    result = provision(
        "enroll",
        "--server",
        "http://127.0.0.1:9",
        "--token",
        "TWE-AAAAA-AAAAA-AAAAA-AAAAA",
        "--config",
        tmp_path / "config.yaml",
        "--camera-source",
        "0",
        "--camera-kind",
        "usb",
    )
    assert result.code == 69
    assert "cannot reach the server" in result.err
    assert list(tmp_path.glob("device_key*")) == []


def test_a_box_enrols_again_with_a_token_for_its_device_id(
    provision: Provision, live: Live, tmp_path: Path
) -> None:
    etc = tmp_path / "etc"
    assert _enroll(provision, live, etc, live.token()).code == 0
    config = load_config(etc / "config.yaml")
    old = private_key_from_pem((etc / "device_key.pem").read_bytes())
    for seq in (0, 41):  # what the server already stored from this box
        assert ingest(live.env, old, config.device.id, seq).kind is OutcomeKind.stored
    keep = ("--set", "detector.every_nth_frame=3")
    assert provision("config", "--config", etc / "config.yaml", *keep).code == 0

    again = _enroll(provision, live, etc, live.token(device_id=config.device.id))
    assert again.code == 0, again.err
    assert (again.json["device_id"], again.json["valid_from_seq"]) == (config.device.id, 42)
    after = load_config(etc / "config.yaml")
    assert after.detector.every_nth_frame == 3  # the technician's settings survive
    assert next_sequence(Path(after.outbox.path)) == 42  # the agent may not number below it
    new = private_key_from_pem((etc / "device_key.pem").read_bytes())
    assert ingest(live.env, new, config.device.id, 42).kind is OutcomeKind.stored
    assert ingest(live.env, old, config.device.id, 43).kind is OutcomeKind.rejected
