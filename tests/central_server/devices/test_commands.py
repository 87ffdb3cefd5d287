"""Device commands through the staff API: validated, signed, stored; replies recorded once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from central_server.devices import commands
from central_server.devices.control import handle_reply
from central_server.devices.control_client import Inbound
from central_server.devices.models_remote import DeviceCommand
from central_server.models import AuditEvent
from central_server.roles import Role
from protocol.commands import CommandReply, open_command, seal_reply
from protocol.enums import CommandName, CommandResult
from protocol.keys import Ed25519PrivateKey, generate_private_key
from protocol.topics import Topics
from tests.central_server.api.harness import START, ApiEnv, api_env_for
from tests.factories import fake_jpeg, fixed_device_key
from tests.factories_db import make_device, make_device_key
from tests.fixtures.db import Database

BOX = "dh-cam-009"
URL = f"/api/v1/devices/{BOX}/commands"


@pytest.fixture
def api_env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    for env in api_env_for(db, tmp_path):
        with db.session() as session:
            make_device(session, id=BOX)
            make_device_key(session, private_key=fixed_device_key(), device_id=BOX)
        yield env


def admin(env: ApiEnv) -> Any:
    return env.as_token(env.user(Role.admin))


def reply_to(
    env: ApiEnv,
    command_id: uuid.UUID,
    name: CommandName,
    key: Ed25519PrivateKey | None = None,
    **payload: Any,
) -> None:
    """The box's signed reply, as the control client receives it."""
    reply = CommandReply.model_validate(
        {
            "command_id": command_id,
            "device_id": BOX,
            "name": name,
            "result": "ok",
            "message": "xong / done",
            "replied_at": START,
            **payload,
        }
    )
    item = Inbound(Topics().reply(BOX), seal_reply(reply, key or fixed_device_key()), 1, 1, 1)
    with env.db.session() as session:
        handle_reply(session, env.store, Topics(), item)


def test_a_command_is_signed_stored_with_its_expiry_and_audited(api_env: ApiEnv) -> None:
    body = {"args": {"name": "snapshot", "max_width": 1280}, "ttl_s": 120}
    response = admin(api_env).post(URL, json=body)

    assert response.status_code == 202, response.text
    sent = response.json()
    assert (sent["name"], sent["state"], sent["args"]["max_width"]) == ("snapshot", "pending", 1280)
    with api_env.db.session() as session:
        row = session.get(DeviceCommand, uuid.UUID(sent["id"]))
        assert row is not None
        command = open_command(row.sealed, api_env.server_key.public_key())
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert (command.command_id, command.device_id, command.name) == (row.id, BOX, row.name)
    assert command.expires_at == START + timedelta(seconds=120) == row.expires_at
    assert "device.command_issued" in actions


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"name": "snapshot", "max_width": 0}, "args.max_width"),
        ({"name": "format_disk"}, "args.name"),
        ({"name": "restart", "force": True}, "args.force"),
        ({"name": "log_upload", "max_bytes": 10**9}, "args.max_bytes"),
    ],
)
def test_bad_arguments_are_refused_with_the_key(
    api_env: ApiEnv, args: dict[str, Any], field: str
) -> None:
    response = admin(api_env).post(URL, json={"args": args})

    assert response.status_code == 422, response.text
    assert response.json()["error"]["detail"]["fields"] == [field]
    with api_env.db.session() as session:
        assert session.exec(select(DeviceCommand)).all() == []


def test_a_snapshot_reply_is_stored_once_and_its_download_audited(api_env: ApiEnv) -> None:
    client = admin(api_env)
    sent = client.post(URL, json={"args": {"name": "snapshot"}}).json()
    cid = uuid.UUID(sent["id"])
    image = fake_jpeg(5000)
    snapshot = {"width": 1920, "height": 1080, "captured_at": START, "data": image}
    reply_to(api_env, cid, CommandName.snapshot, key=generate_private_key(), snapshot=snapshot)
    assert client.get(f"{URL}/{cid}").json()["state"] == "pending"  # forged: ignored
    reply_to(api_env, cid, CommandName.snapshot, snapshot=snapshot)
    reply_to(api_env, cid, CommandName.snapshot, snapshot=snapshot | {"data": b"\xff\xd8x"})

    got = client.get(f"{URL}/{cid}").json()
    assert (got["state"], got["result"], got["message"]) == ("answered", "ok", "xong / done")
    assert got["reply"]["snapshot"]["size"] == len(image)
    download = client.get(f"{URL}/{cid}/snapshot")
    assert download.status_code == 200 and download.content == image
    assert download.headers["content-type"] == "image/jpeg"
    assert client.get(f"{URL}/{cid}/log").status_code == 404
    with api_env.db.session() as session:
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert actions.count("device.command_answered") == 1
    assert "device.snapshot_downloaded" in actions


def test_a_log_and_a_resend_reply(api_env: ApiEnv) -> None:
    client = admin(api_env)
    log_id = uuid.UUID(client.post(URL, json={"args": {"name": "log_upload"}}).json()["id"])
    resend = client.post(URL, json={"args": {"name": "dead_letter_resend"}}).json()
    log = {"filename": "box.log", "mime": "text/plain", "data": b"dong 1\n"}
    reply_to(api_env, log_id, CommandName.log_upload, log=log)
    packet = uuid.uuid4()
    reply_to(api_env, uuid.UUID(resend["id"]), CommandName.dead_letter_resend, resent=[packet])

    download = client.get(f"{URL}/{log_id}/log")
    assert download.content == b"dong 1\n"
    assert 'filename="box.log"' in download.headers["content-disposition"]
    listed = client.get(URL).json()
    assert [c["name"] for c in listed] == ["dead_letter_resend", "log_upload"]
    assert listed[0]["reply"]["resent"] == [str(packet)]


def test_a_reply_to_a_command_never_sent_to_that_box_is_ignored(api_env: ApiEnv) -> None:
    reply_to(api_env, uuid.uuid4(), CommandName.restart)
    with api_env.db.session() as session:
        assert session.exec(select(DeviceCommand)).all() == []


def test_unanswered_commands_expire_but_a_late_reply_still_counts(api_env: ApiEnv) -> None:
    client = admin(api_env)
    cid = uuid.UUID(client.post(URL, json={"args": {"name": "restart"}, "ttl_s": 60}).json()["id"])
    with api_env.db.session() as session:
        assert commands.expire_overdue(session, START + timedelta(seconds=30)) == 0
        assert commands.pending_commands(session, START) != []
        assert commands.expire_overdue(session, START + timedelta(seconds=61)) == 1
        assert commands.pending_commands(session, START + timedelta(seconds=61)) == []
    assert client.get(f"{URL}/{cid}").json()["state"] == "expired"

    reply_to(api_env, cid, CommandName.restart)
    got = client.get(f"{URL}/{cid}").json()
    assert (got["state"], got["result"]) == ("answered", CommandResult.ok.value)
    with api_env.db.session() as session:
        actors = session.exec(
            select(AuditEvent.actor).where(col(AuditEvent.action) == "device.command_expired")
        ).all()
    assert actors == ["system:control"]


def test_unknown_device_and_command(api_env: ApiEnv) -> None:
    client = admin(api_env)
    missing = client.get(f"{URL}/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "command_not_found"
    unknown = client.post("/api/v1/devices/nope-01/commands", json={"args": {"name": "restart"}})
    assert unknown.status_code == 404
