"""Key rotation signed by the current key, and revocation with the cut-off the admin chooses,
checked against what the real ingest accepts."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlmodel import select

from central_server.ingest.schemas import OutcomeKind
from central_server.models import AuditEvent, DeviceKey
from central_server.roles import Role
from central_server.settings import get_settings
from protocol.enums import RejectReason
from protocol.keys import Ed25519PrivateKey, generate_private_key, key_id
from protocol.sealed import seal
from provisioning.signed import KIND_CONFIG_ARCHIVE, KeyRotationBody, seal_rotation
from tests.central_server.api.harness import ApiEnv
from tests.central_server.devices.enrolment_helpers import (
    enrol_body,
    enrolment_env,
    ingest,
    new_token,
)
from tests.fixtures.db import Database
from trafficwatch.cli import main

KEYS = "/api/v1/enrolment/keys"


@pytest.fixture
def env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    yield from enrolment_env(db, tmp_path)


def _enrolled(env: ApiEnv) -> tuple[str, Ed25519PrivateKey]:
    key = generate_private_key()
    answer = env.client().post("/api/v1/enrolment", json=enrol_body(new_token(env), key)).json()
    return answer["device_id"], key


def _keys(env: ApiEnv) -> dict[str, DeviceKey]:
    with env.db.session() as session:
        return {k.key_id: k for k in session.exec(select(DeviceKey)).all()}


def test_rotation_keeps_the_backlog_verifiable(env: ApiEnv) -> None:
    device_id, old = _enrolled(env)
    assert ingest(env, old, device_id, 3).kind is OutcomeKind.stored
    new = generate_private_key()
    sealed = seal_rotation(old, new, device_id, next_seq=10)
    response = env.client().post(KEYS, json={"sealed": sealed})
    assert response.status_code == 201, response.text
    assert response.json() == {
        "device_id": device_id,
        "key_id": key_id(new),
        "valid_from_seq": 10,
        "previous_key_id": key_id(old),
        "previous_valid_to_seq": 9,
    }
    # The backlog (signed before the rotation, sent after it) still verifies ...
    assert ingest(env, old, device_id, 9).kind is OutcomeKind.stored
    # ... the old key cannot sign past the boundary, the new one can.
    refused = ingest(env, old, device_id, 10)
    assert refused.reason is RejectReason.key_not_valid_for_sequence
    assert ingest(env, new, device_id, 10).kind is OutcomeKind.stored
    # A lost answer: the box asks again and gets the same key.
    again = env.client().post(KEYS, json={"sealed": seal_rotation(old, new, device_id, 11)})
    assert again.json()["key_id"] == key_id(new) and again.json()["valid_from_seq"] == 10


def test_rotation_starts_past_what_the_server_already_stored(env: ApiEnv) -> None:
    device_id, old = _enrolled(env)
    assert ingest(env, old, device_id, 20).kind is OutcomeKind.stored
    new = generate_private_key()
    # The box's outbox forgot the acked packets: it says 0; the server knows 20 was used.
    answer = env.client().post(KEYS, json={"sealed": seal_rotation(old, new, device_id, 0)})
    assert answer.json()["valid_from_seq"] == 21


def test_forged_stale_and_misdirected_rotations_are_refused(env: ApiEnv) -> None:
    device_id, old = _enrolled(env)
    new, stranger = generate_private_key(), generate_private_key()
    client = env.client()
    forged = client.post(KEYS, json={"sealed": seal_rotation(stranger, new, device_id, 5)})
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "unknown_key"
    env.clock.advance(hours=1)
    stale = client.post(KEYS, json={"sealed": seal_rotation(old, new, device_id, 5)})
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "stale_request"
    env.clock.advance(hours=-1)
    body = KeyRotationBody(
        device_id=device_id,
        new_public_key_pem="x",
        new_key_proof="eA==",
        next_seq=5,
        issued_at=datetime.now(timezone.utc),
    )
    wrong_kind = seal(KIND_CONFIG_ARCHIVE, body, old)
    replayed = client.post(KEYS, json={"sealed": base64.b64encode(wrong_kind).decode()})
    assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "bad_signature"
    assert list(_keys(env)) == [key_id(old)]


def test_an_admin_revokes_from_a_sequence_and_the_backlog_stays_valid(env: ApiEnv) -> None:
    device_id, key = _enrolled(env)
    for seq in (1, 2, 5):
        assert ingest(env, key, device_id, seq).kind is OutcomeKind.stored
    admin = env.as_token(env.user(Role.admin))
    response = admin.post(
        f"/api/v1/device-keys/{key_id(key)}/revoke",
        json={"from_seq": 2, "reason": "hộp bị mở trái phép / tampered enclosure"},
    )
    assert response.status_code == 200, response.text
    revoked = response.json()
    assert (revoked["valid_to_seq"], revoked["revoked_at"]) == (1, None)
    assert revoked["packets_after_cutoff"] == 2  # seq 2 and 5 were stored: look at them again
    assert ingest(env, key, device_id, 0).kind is OutcomeKind.stored
    refused = ingest(env, key, device_id, 3)
    assert refused.reason is RejectReason.key_not_valid_for_sequence
    with env.db.session() as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "device.key_revoked")
        ).one()
    assert event.actor.startswith("user:") and event.entity_id == device_id


def test_revoking_an_unknown_key_is_a_404(env: ApiEnv) -> None:
    admin = env.as_token(env.user(Role.admin))
    response = admin.post("/api/v1/device-keys/0123456789abcdef/revoke", json={"reason": "x"})
    assert response.status_code == 404


@pytest.fixture
def cli_env(db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("TW_DATABASE_URL", db.url)
    monkeypatch.setenv("TW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TW_ENV_FILE", str(tmp_path / "absent.env"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_cli_revokes_at_a_time_and_ingest_refuses_the_key_after(
    env: ApiEnv, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    device_id, key = _enrolled(env)
    assert ingest(env, key, device_id, 1).kind is OutcomeKind.stored
    at = "2025-01-01T08:00"  # Vietnam time; the stored packet arrived after it (2025-03-01)
    argv = ["server", "device", "revoke", "--key-id", key_id(key), "--at", at]
    assert main([*argv, "--reason", "stolen box / hộp bị mất cắp", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["key_id"] == key_id(key) and out["revoked_at"] is not None
    assert out["packets_after_cutoff"] == 1  # received after the cut-off: to be looked at
    refused = ingest(env, key, device_id, 2)
    assert refused.reason is RejectReason.revoked_key
    assert (
        main(["server", "device", "revoke", "--key-id", "ffffffffffffffff", "--reason", "x"]) == 66
    )


def test_the_cli_takes_one_cut_off_only(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["server", "device", "revoke", "--key-id", "0" * 16, "--reason", "x"]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--from-seq", "3", "--at", "2026-01-01T00:00"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
