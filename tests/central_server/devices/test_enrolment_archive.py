"""The box archives its config and calibration by hash, signed by its key."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from central_server.models import ConfigKind, DeviceConfigArchive
from protocol.config import DeviceConfig, calibration_sha256, config_sha256
from protocol.keys import Ed25519PrivateKey, generate_private_key
from protocol.sealed import seal
from provisioning.signed import KIND_CONFIG_ARCHIVE, ConfigArchiveBody, seal_config_archive
from tests.central_server.api.harness import ApiEnv
from tests.central_server.devices.enrolment_helpers import enrol_body, enrolment_env, new_token
from tests.fixtures.db import Database

CONFIGS = "/api/v1/enrolment/configs"


@pytest.fixture
def env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    yield from enrolment_env(db, tmp_path)


def _config(device_id: str, source: str = "rtsp://10.0.0.5/stream1") -> DeviceConfig:
    return DeviceConfig.model_validate(
        {
            "device": {
                "id": device_id,
                "site_id": "dong-hoi-01",
                "camera_id": "north",
                "location": {"lat": 17.4683, "lon": 106.6229},
            },
            "camera": {"source": source},
            "calibration": {
                "stop_line": [[100, 900], [1800, 900]],
                "light_region": {"box": [1700, 80, 1760, 240]},
            },
        }
    )


def _enrolled(env: ApiEnv) -> tuple[str, Ed25519PrivateKey]:
    key = generate_private_key()
    answer = env.client().post("/api/v1/enrolment", json=enrol_body(new_token(env), key)).json()
    return answer["device_id"], key


def _archive(env: ApiEnv) -> dict[str, Any]:
    with env.db.session() as session:
        return {row.sha256: row for row in session.exec(select(DeviceConfigArchive)).all()}


def test_the_config_and_calibration_are_archived_once_by_hash(env: ApiEnv) -> None:
    device_id, key = _enrolled(env)
    config = _config(device_id)
    sealed, config_hash, calibration_hash = seal_config_archive(key, config)
    assert (config_hash, calibration_hash) == (
        config_sha256(config),
        calibration_sha256(config.calibration),
    )
    first = env.client().post(CONFIGS, json={"sealed": sealed})
    assert first.status_code == 200, first.text
    assert first.json()["created"] == ["config", "calibration"]
    rows = _archive(env)
    assert rows[config_hash].kind is ConfigKind.config and rows[config_hash].device_id == device_id
    assert DeviceConfig.model_validate(rows[config_hash].body) == config
    assert rows[calibration_hash].kind is ConfigKind.calibration
    again = env.client().post(CONFIGS, json={"sealed": seal_config_archive(key, config)[0]})
    assert again.json()["created"] == []


def test_the_camera_password_never_reaches_the_archive(env: ApiEnv) -> None:
    device_id, key = _enrolled(env)
    config = _config(device_id, "rtsp://admin:Mật-khẩu-9@10.0.0.5:554/stream1")
    sealed, config_hash, _ = seal_config_archive(key, config)
    assert env.client().post(CONFIGS, json={"sealed": sealed}).status_code == 200
    body = _archive(env)[config_hash].body
    assert body["camera"]["source"] == "rtsp://admin:***@10.0.0.5:554/stream1"
    assert "Mật-khẩu-9" not in str(body)


def test_a_calibration_that_does_not_match_its_hash_is_refused(env: ApiEnv) -> None:
    device_id, key = _enrolled(env)
    config = _config(device_id)
    body = ConfigArchiveBody(
        device_id=device_id,
        config_sha256=config_sha256(config),
        calibration_sha256="0" * 64,
        config=config.model_dump(mode="json"),
        redacted=[],
        issued_at=env.clock.now,
    )
    sealed = base64.b64encode(seal(KIND_CONFIG_ARCHIVE, body, key)).decode()
    response = env.client().post(CONFIGS, json={"sealed": sealed})
    assert response.status_code == 422 and response.json()["error"]["code"] == "calibration_hash"
    assert _archive(env) == {}


def test_another_boxs_key_cannot_archive_for_this_box(env: ApiEnv) -> None:
    device_id, _key = _enrolled(env)
    _other_id, other_key = _enrolled(env)
    sealed, _, _ = seal_config_archive(other_key, _config(device_id))
    response = env.client().post(CONFIGS, json={"sealed": sealed})
    assert response.status_code == 403 and response.json()["error"]["code"] == "wrong_device"
