"""`provision rotate-key`: a new key from the outbox's next sequence; the backlog still verifies;
a revoked key cannot vouch for a new one."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlmodel import select

from central_server.ingest.schemas import OutcomeKind
from central_server.models import DeviceKey
from central_server.settings import get_settings
from edge_agent.agent.config_loader import load_config
from edge_agent.outbox import Outbox
from protocol.enums import RejectReason
from protocol.ids import new_packet_id
from protocol.keys import generate_private_key, key_id, private_key_from_pem, private_key_to_pem
from provisioning.sequence import next_sequence, raise_seq_floor
from provisioning.signed import seal_rotation
from tests.central_server.devices.enrolment_helpers import SITE_ID, ingest
from tests.factories import make_packet
from tests.provisioning.conftest import Live, Provision
from trafficwatch.cli import main


def _enrolled_box(provision: Provision, live: Live, tmp_path: Path) -> Path:
    config = tmp_path / "etc" / "config.yaml"
    result = provision(
        "enroll",
        "--server",
        live.url,
        "--token",
        live.token(),
        "--config",
        config,
        "--state-dir",
        tmp_path / "state",
        "--camera-source",
        "rtsp://10.0.0.5/stream1",
    )
    assert result.code == 0, result.err
    return config


def test_rotation_starts_at_the_outbox_next_sequence_and_the_backlog_verifies(
    provision: Provision, live: Live, tmp_path: Path
) -> None:
    config_path = _enrolled_box(provision, live, tmp_path)
    config = load_config(config_path)
    device_id, key_file = config.device.id, Path(config.keys.device_key)
    old = private_key_from_pem(key_file.read_bytes())
    outbox = Outbox(config.outbox.path, min_free_bytes=None)
    backlog = []
    for seq in range(5):  # signed before the rotation, not yet sent
        header, data = make_packet(
            key=old, seq=seq, device_id=device_id, site_id=SITE_ID, packet_id=new_packet_id()
        )
        outbox.put(header.packet_id, seq, data)
        backlog.append(seq)
    outbox.close()

    result = provision("rotate-key", "--config", config_path, "--json")
    assert result.code == 0, result.err
    rotated = result.json
    assert (rotated["valid_from_seq"], rotated["previous_valid_to_seq"]) == (5, 4)
    new = private_key_from_pem(key_file.read_bytes())
    assert key_id(new) == rotated["key_id"] != key_id(old) == rotated["previous_key_id"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not key_file.with_name("device_key.pem.new").exists()
    assert next_sequence(Path(config.outbox.path)) == 5  # the agent may not go below it
    record = json.loads((config_path.parent / "enrolment.json").read_text())
    assert (record["key_id"], record["valid_from_seq"]) == (key_id(new), 5)

    # The server's key registry: the backlog still verifies, the new key takes over at 5.
    for seq in backlog:
        assert ingest(live.env, old, device_id, seq).kind is OutcomeKind.stored
    assert ingest(live.env, new, device_id, 5).kind is OutcomeKind.stored
    assert ingest(live.env, old, device_id, 6).reason is RejectReason.key_not_valid_for_sequence


def test_an_interrupted_rotation_is_finished_by_running_it_again(
    provision: Provision, live: Live, tmp_path: Path
) -> None:
    config_path = _enrolled_box(provision, live, tmp_path)
    config = load_config(config_path)
    key_file = Path(config.keys.device_key)
    old, new = private_key_from_pem(key_file.read_bytes()), generate_private_key()
    # The server registered the new key, then the box lost power before putting it in place.
    response = live.env.client().post(
        "/api/v1/enrolment/keys", json={"sealed": seal_rotation(old, new, config.device.id, 0)}
    )
    assert response.status_code == 201
    key_file.with_name("device_key.pem.new").write_bytes(private_key_to_pem(new))
    result = provision("rotate-key", "--config", config_path, "--json")
    assert result.code == 0, result.err
    assert result.json["key_id"] == key_id(new)
    assert key_id(private_key_from_pem(key_file.read_bytes())) == key_id(new)
    with live.env.db.session() as session:
        assert len(session.exec(select(DeviceKey)).all()) == 2


@pytest.fixture
def server_cli(live: Live, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TW_DATABASE_URL", live.env.db.url)
    monkeypatch.setenv("TW_ENV_FILE", str(tmp_path / "absent.env"))
    get_settings.cache_clear()


def test_after_an_admin_revokes_the_key_the_box_cannot_rotate_it(
    provision: Provision,
    live: Live,
    tmp_path: Path,
    server_cli: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config_path = _enrolled_box(provision, live, tmp_path)
    config = load_config(config_path)
    kid = key_id(private_key_from_pem(Path(config.keys.device_key).read_bytes()))
    revoke = ["server", "device", "revoke", "--key-id", kid, "--from-seq", "3"]
    assert main([*revoke, "--reason", "thẻ nhớ bị sao chép / SD card copied"]) == 0
    capsys.readouterr()
    result = provision("rotate-key", "--config", config_path)
    assert result.code == 77
    assert "not the device's current key" in result.err
    assert "new token" in result.err
    get_settings.cache_clear()


def test_the_floor_is_the_agents_own_sequence_counter(tmp_path: Path) -> None:
    packet = pytest.importorskip("edge_agent.evidence.packet")
    outbox = Outbox(tmp_path / "outbox.sqlite3", min_free_bytes=None)
    try:
        counter = packet.SequenceCounter(outbox)
        assert counter.reserve() == 0
        raise_seq_floor(tmp_path / "outbox.sqlite3", 42)
        assert counter.reserve() == 42  # the agent continues at the new key's first number
        assert next_sequence(tmp_path / "outbox.sqlite3") == 43
    finally:
        outbox.close()
