"""Config pushes through the staff API: validated, signed, stored, superseded, answered."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import col, select

from central_server.devices import remote_config
from central_server.devices.control import handle_reply
from central_server.devices.control_client import Inbound
from central_server.devices.models_remote import DeviceConfigPush, PushState
from central_server.models import AuditEvent, ConfigKind, DeviceConfigArchive
from central_server.roles import Role
from protocol.commands import CommandReply, ConfigReport, config_report_id, seal_reply
from protocol.config import DeviceConfig, config_sha256, open_config
from protocol.enums import CommandName, CommandResult, ConfigApplyState
from protocol.keys import Ed25519PrivateKey, generate_private_key
from protocol.topics import Topics
from tests.central_server.api.harness import START, ApiEnv, api_env_for
from tests.factories import fixed_device_key
from tests.factories_db import make_device, make_device_key
from tests.fixtures.db import Database

BOX = "dh-cam-007"
URL = f"/api/v1/devices/{BOX}/config"


@pytest.fixture
def api_env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    for env in api_env_for(db, tmp_path):
        with db.session() as session:
            make_device(session, id=BOX)
            make_device_key(session, private_key=fixed_device_key(), device_id=BOX)
        yield env


def config_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "device": {
            "id": BOX,
            "site_id": "dh-ltk-thd",
            "camera_id": "north",
            "location": {"lat": 17.4683, "lon": 106.6229},
        },
        "camera": {"source": "rtsp://admin:mật-khẩu@10.0.0.5/stream1"},
        "calibration": {
            "stop_line": [[100, 800], [1800, 820]],
            "light_region": {"box": [1500, 50, 1560, 200]},
        },
    }
    return data | overrides


def admin(env: ApiEnv) -> Any:
    return env.as_token(env.user(Role.admin))


def pushes(env: ApiEnv) -> list[DeviceConfigPush]:
    with env.db.session() as session:
        rows = session.exec(select(DeviceConfigPush).order_by(col(DeviceConfigPush.version)))
        return list(rows.all())


def test_a_valid_config_is_signed_stored_archived_and_audited(api_env: ApiEnv) -> None:
    response = admin(api_env).post(URL, json={"config": config_data()})

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["version"], body["state"], body["device_id"]) == (1, "pending", BOX)
    (push,) = pushes(api_env)
    signed = open_config(push.sealed, api_env.server_key.public_key())
    expected = DeviceConfig.model_validate(config_data())
    assert (signed.device_id, signed.version, signed.config) == (BOX, 1, expected)
    assert push.id == config_report_id(BOX, 1) == uuid.UUID(body["id"])
    assert push.config_sha256 == body["config_sha256"] == config_sha256(expected)
    with api_env.db.session() as session:
        archived = session.get(DeviceConfigArchive, push.config_sha256)
        kinds = {row.kind for row in session.exec(select(DeviceConfigArchive)).all()}
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert archived is not None and archived.device_id == BOX
    assert kinds == {ConfigKind.config, ConfigKind.calibration}
    assert "device.config_pushed" in actions


def test_yaml_is_accepted_too(api_env: ApiEnv) -> None:
    response = admin(api_env).post(URL, json={"yaml": yaml.safe_dump(config_data())})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            {"config": config_data(mqtt={"hots": "x"})},
            "mqtt.hots: khóa không được phép (unknown key)",
        ),
        ({"config": config_data(calibration={})}, "calibration.stop_line: cần cho luật red_light"),
        ({"config": config_data(device={"id": "dh-cam-008"} | {})}, "device.site_id: thiếu"),
        ({"yaml": "device: [unclosed"}, "yaml: YAML không hợp lệ"),
        ({"config": config_data(), "yaml": "x: 1"}, "config: gửi `config` hoặc `yaml`"),
    ],
)
def test_an_invalid_config_is_refused_with_its_key_and_nothing_is_stored(
    api_env: ApiEnv, body: dict[str, Any], problem: str
) -> None:
    response = admin(api_env).post(URL, json=body)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_config"
    assert any(line.startswith(problem) for line in error["detail"]["problems"]), error
    assert pushes(api_env) == []


def test_a_config_for_another_box_is_refused(api_env: ApiEnv) -> None:
    other = config_data(device=config_data()["device"] | {"id": "dh-cam-008"})
    response = admin(api_env).post(URL, json={"config": other})
    assert response.status_code == 422
    assert response.json()["error"]["detail"]["fields"] == ["device.id"]


def test_unknown_and_revoked_devices(api_env: ApiEnv) -> None:
    client = admin(api_env)
    unknown = client.post("/api/v1/devices/no-such-box/config", json={"config": config_data()})
    assert unknown.status_code == 404
    with api_env.db.session() as session:
        make_device(session, id="dh-old-01", revoked_at=datetime.now(timezone.utc))
    data = config_data(device=config_data()["device"] | {"id": "dh-old-01"})
    revoked = client.post("/api/v1/devices/dh-old-01/config", json={"config": data})
    assert revoked.status_code == 409
    assert client.get("/api/v1/devices/no-such-box/config").status_code == 404


def test_a_newer_push_supersedes_the_unanswered_one(api_env: ApiEnv) -> None:
    client = admin(api_env)
    client.post(URL, json={"config": config_data()})
    second = config_data(tracker={"buffer_frames": 12})
    assert client.post(URL, json={"config": second}).json()["version"] == 2

    assert [(p.version, p.state) for p in pushes(api_env)] == [
        (1, PushState.superseded),
        (2, PushState.pending),
    ]
    view = client.get(URL).json()
    assert view["desired"]["version"] == 2 and view["applied"] is None
    assert [p["version"] for p in view["pushes"]] == [2, 1]
    assert view["desired_config"]["camera"]["source"] == "rtsp://admin:***@10.0.0.5/stream1"


def report(
    env: ApiEnv,
    version: int,
    state: ConfigApplyState,
    sha: str | None,
    key: Ed25519PrivateKey | None = None,
) -> None:
    """The box's signed report, as the control client receives it."""
    reply = CommandReply(
        command_id=config_report_id(BOX, version),
        device_id=BOX,
        name=CommandName.config,
        result=CommandResult.ok if state is ConfigApplyState.applied else CommandResult.failed,
        message="đã áp dụng / applied",
        replied_at=datetime.now(timezone.utc),
        config=ConfigReport(
            version=version, config_sha256=sha, state=state, running_sha256=sha, running_version=1
        ),
    )
    payload = seal_reply(reply, key or fixed_device_key())
    item = Inbound(Topics().reply(BOX), payload, mid=1, qos=1, generation=1)
    with env.db.session() as session:
        handle_reply(session, env.store, Topics(), item)


def test_the_box_report_closes_the_push_once_and_is_audited(api_env: ApiEnv) -> None:
    client = admin(api_env)
    sha = client.post(URL, json={"config": config_data()}).json()["config_sha256"]

    report(api_env, 1, ConfigApplyState.applied, "00" * 32)  # not what was pushed: ignored
    report(api_env, 1, ConfigApplyState.applied, sha, key=generate_private_key())  # forged
    assert pushes(api_env)[0].state is PushState.pending
    report(api_env, 1, ConfigApplyState.applied, sha)
    report(api_env, 1, ConfigApplyState.rolled_back, sha)  # a second answer changes nothing

    (push,) = pushes(api_env)
    assert (push.state, push.running_sha256, push.message) == (
        PushState.applied,
        sha,
        "đã áp dụng / applied",
    )
    view = client.get(URL).json()
    assert view["applied"]["version"] == 1 and view["in_sync"] is True
    with api_env.db.session() as session:
        events = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "device.config_applied")
        ).all()
    assert [e.actor for e in events] == [f"device:{BOX}"]


def test_every_staff_role_reads_a_config_but_only_an_admin_pushes(api_env: ApiEnv) -> None:
    technician = api_env.as_token(api_env.user(Role.technician))
    assert technician.get(URL).status_code == 200
    assert technician.post(URL, json={"config": config_data()}).status_code == 403


def test_the_control_client_publishes_pending_pushes_and_reasserts_the_newest(
    api_env: ApiEnv,
) -> None:
    client = admin(api_env)
    for buffer_frames in (10, 11, 12):
        client.post(URL, json={"config": config_data(tracker={"buffer_frames": buffer_frames})})
    with api_env.db.session() as session:
        assert [p.version for p in remote_config.pending_pushes(session)] == [3]
        assert remote_config.latest_pushes(session) == []  # nothing on the broker yet
        (push,) = remote_config.pending_pushes(session)
        remote_config.set_state(
            session, push, PushState.published, actor="system:control", now=START
        )
    with api_env.db.session() as session:
        (latest,) = remote_config.latest_pushes(session)
        assert (latest.version, latest.state, latest.published_at) == (
            3,
            PushState.published,
            START,
        )
