"""Enrolment through the real API: a valid, an expired, a reused and a forged request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from central_server.devices.enrolment import mosquitto_hash, mosquitto_verify
from central_server.devices.models_enrolment import DeviceBrokerCredential, EnrolmentToken
from central_server.models import AuditEvent, Device, DeviceAssignment, DeviceKey
from protocol.keys import generate_private_key, key_id
from tests.central_server.api.harness import ApiEnv
from tests.central_server.devices.enrolment_helpers import (
    BROKER_HOST,
    SITE_ID,
    enrol_body,
    enrolment_env,
    ensure_site,
    new_token,
)
from tests.factories_db import make_device, make_device_key
from tests.fixtures.db import Database

ENROL = "/api/v1/enrolment"


@pytest.fixture
def env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    yield from enrolment_env(db, tmp_path)


def _state(env: ApiEnv) -> dict[str, Any]:
    """What a refused enrolment must leave untouched."""
    with env.db.session() as session:
        return {
            "devices": len(session.exec(select(Device)).all()),
            "keys": len(session.exec(select(DeviceKey)).all()),
            "credentials": len(session.exec(select(DeviceBrokerCredential)).all()),
            "audit": len(session.exec(select(AuditEvent)).all()),
            "tokens": [(t.id, t.used_at) for t in session.exec(select(EnrolmentToken)).all()],
        }


def test_a_valid_token_enrols_the_box_and_issues_its_broker_login(env: ApiEnv) -> None:
    token = new_token(env)
    key = generate_private_key()
    response = env.client().post(ENROL, json=enrol_body(token, key))
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["device_id"] == f"{SITE_ID}-north"
    assert answer["key_id"] == key_id(key) and answer["valid_from_seq"] == 0
    assert answer["broker"]["host"] == BROKER_HOST and answer["broker"]["port"] == 8883
    assert answer["broker"]["username"] == answer["device_id"]
    assert answer["broker"]["ca_pem"] is None  # this deployment has no TLS yet
    assert answer["server_key_id"] == key_id(env.server_key)
    assert "BEGIN PUBLIC KEY" in answer["server_public_key_pem"]
    with env.db.session() as session:
        device = session.get(Device, answer["device_id"])
        assert device is not None and device.site_id == SITE_ID and device.camera_id == "north"
        stored_key = session.exec(select(DeviceKey)).one()
        assert stored_key.key_id == key_id(key) and stored_key.valid_to_seq is None
        credential = session.get(DeviceBrokerCredential, answer["device_id"])
        assert credential is not None and credential.password_hash.startswith("$7$101$")
        assert answer["broker"]["password"] not in credential.password_hash
        assert mosquitto_verify(answer["broker"]["password"], credential.password_hash)
        assert session.exec(select(DeviceAssignment)).one().site_id == SITE_ID
        token_row = session.exec(select(EnrolmentToken)).one()
        assert token_row.used_by_device_id == answer["device_id"]
        actions = session.exec(select(col(AuditEvent.action))).all()
    assert {"device.enrolled", "device.key_added", "device.enrolled_with_token"} <= set(actions)


def test_an_expired_token_is_refused_and_changes_nothing(env: ApiEnv) -> None:
    token = new_token(env, ttl=timedelta(minutes=30))
    env.clock.advance(minutes=31)
    before = _state(env)
    response = env.client().post(ENROL, json=enrol_body(token, generate_private_key()))
    assert response.status_code == 410
    error = response.json()["error"]
    assert error["code"] == "token_expired"
    assert "hết hạn" in error["message_vi"] and "expired" in error["message_en"]
    assert _state(env) == before


def test_a_reused_token_is_refused_and_changes_nothing(env: ApiEnv) -> None:
    token = new_token(env)
    client = env.client()
    assert client.post(ENROL, json=enrol_body(token, generate_private_key())).status_code == 201
    before = _state(env)
    # A second box, or the same token typed again: refused.
    response = client.post(ENROL, json=enrol_body(token.lower(), generate_private_key()))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "token_used"
    assert "đã được dùng" in error["message_vi"] and "already been used" in error["message_en"]
    assert _state(env) == before


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [("TWE-AAAAA-AAAAA-AAAAA-AAAAA", 401, "token_invalid"), ("hello", 401, "token_invalid")],
)
def test_unknown_and_malformed_tokens_are_refused(
    env: ApiEnv, token: str, status: int, code: str
) -> None:
    response = env.client().post(ENROL, json=enrol_body(token, generate_private_key()))
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


def test_a_key_the_box_cannot_prove_it_holds_is_refused_without_spending_the_token(
    env: ApiEnv,
) -> None:
    token = new_token(env)
    key, other = generate_private_key(), generate_private_key()
    forged = enrol_body(token, key) | {"proof": enrol_body(token, other)["proof"]}
    response = env.client().post(ENROL, json=forged)
    assert response.status_code == 422 and response.json()["error"]["code"] == "bad_key_proof"
    assert env.client().post(ENROL, json=enrol_body(token, key)).status_code == 201


def test_a_site_without_a_position_needs_the_box_to_give_one(env: ApiEnv) -> None:
    ensure_site(env, "no-gps", lat=None, lon=None)
    token = new_token(env, site_id="no-gps")
    key = generate_private_key()
    refused = env.client().post(ENROL, json=enrol_body(token, key))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "location_required"
    located = enrol_body(token, key, location={"lat": 17.4683, "lon": 106.6229})
    answer = env.client().post(ENROL, json=located).json()
    assert answer["location"] == {"lat": 17.4683, "lon": 106.6229}


def test_a_token_for_an_existing_device_re_enrols_it_after_its_last_sequence(
    env: ApiEnv,
) -> None:
    ensure_site(env)
    old = generate_private_key()
    with env.db.session() as session:
        make_device(session, id="dh-cam-009", site_id=SITE_ID, last_seq=41)
        make_device_key(session, private_key=old, device_id="dh-cam-009", valid_from_seq=0)
    token = new_token(env, device_id="dh-cam-009")
    new = generate_private_key()
    answer = env.client().post(ENROL, json=enrol_body(token, new)).json()
    assert (answer["device_id"], answer["valid_from_seq"]) == ("dh-cam-009", 42)
    with env.db.session() as session:
        keys = {k.key_id: k for k in session.exec(select(DeviceKey)).all()}
    assert keys[key_id(old)].valid_to_seq == 41  # the backlog it signed still verifies
    assert keys[key_id(new)].valid_from_seq == 42


def test_a_new_box_cannot_take_an_existing_device_id(env: ApiEnv) -> None:
    ensure_site(env)
    with env.db.session() as session:
        make_device(session, id="dh-cam-010", site_id=SITE_ID)
    token = new_token(env)
    body = enrol_body(token, generate_private_key(), device_id="dh-cam-010")
    response = env.client().post(ENROL, json=body)
    assert response.status_code == 409 and response.json()["error"]["code"] == "device_exists"


def test_the_broker_ca_is_handed_over_when_the_deployment_has_tls(
    db: Database, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    envs = enrolment_env(db, tmp_path, device_mqtt_tls=True, device_mqtt_ca_file=ca)
    env = next(envs)
    try:
        token = new_token(env)
        answer = env.client().post(ENROL, json=enrol_body(token, generate_private_key())).json()
    finally:
        envs.close()
    assert answer["broker"]["tls"] is True
    assert answer["broker"]["ca_pem"] == ca.read_text()


def test_the_ping_names_the_servers_key(env: ApiEnv) -> None:
    answer = env.client().get("/api/v1/enrolment/ping").json()
    assert answer == {"status": "ok", "server_key_id": key_id(env.server_key)}


def test_mosquitto_hashes_match_what_mosquitto_passwd_writes() -> None:
    # The reference: `mosquitto_passwd -b f dev1 secret` with this salt gave this line.
    salt = bytes.fromhex("9b753e57be2cba87aacb9b17")
    stored = mosquitto_hash("secret", salt=salt)
    assert stored == (
        "$7$101$m3U+V74suoeqy5sX$AEodQZ/FFCirv8v9cFDcExI0H53FZ+at/xDv7C3ibHzp5BVtj2VnnxvPCY9jaWNp"
        "AyOJ3svFVk4Xgf/Bmd7oAA=="
    )
    assert mosquitto_verify("secret", stored) and not mosquitto_verify("Secret", stored)
