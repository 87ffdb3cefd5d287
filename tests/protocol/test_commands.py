"""Commands and replies: sealed both ways, payloads fit their command."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from protocol.commands import (
    Command,
    CommandReply,
    open_command,
    open_reply,
    seal_command,
    seal_reply,
)
from protocol.enums import CommandName, CommandResult
from protocol.errors import MalformedError, SignatureError
from protocol.keys import Ed25519PrivateKey
from tests.factories import DEVICE_ID, FIXED_TIME, fake_jpeg


def command(args: dict[str, object], **extra: object) -> Command:
    return Command.model_validate(
        {
            "command_id": uuid.UUID(int=1),
            "device_id": DEVICE_ID,
            "issued_at": FIXED_TIME,
            "args": args,
            **extra,
        }
    )


@pytest.mark.parametrize(
    "args",
    [
        {"name": "snapshot", "max_width": 1280},
        {"name": "restart", "reason": "cập nhật phần mềm"},
        {"name": "log_upload", "since": FIXED_TIME},
        {"name": "dead_letter_resend", "packet_ids": [str(uuid.UUID(int=7))]},
    ],
)
def test_commands_round_trip(args: dict[str, object], server_key: Ed25519PrivateKey) -> None:
    sent = command(args, expires_at=FIXED_TIME + timedelta(minutes=5))
    received = open_command(seal_command(sent, server_key), server_key.public_key())
    assert received == sent
    assert received.name is CommandName(args["name"])


def test_expiry() -> None:
    sent = command({"name": "restart"}, expires_at=FIXED_TIME)
    assert sent.expired(FIXED_TIME + timedelta(seconds=1))
    assert not sent.expired(FIXED_TIME)
    assert not command({"name": "restart"}).expired(FIXED_TIME + timedelta(days=999))


def test_unknown_command_and_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        command({"name": "format_disk"})
    with pytest.raises(ValueError, match="max_width"):
        command({"name": "restart", "max_width": 5})


def test_snapshot_reply_carries_binary_jpeg(device_key: Ed25519PrivateKey) -> None:
    image = fake_jpeg(3000)
    reply = CommandReply.model_validate(
        {
            "command_id": uuid.UUID(int=1),
            "device_id": DEVICE_ID,
            "name": "snapshot",
            "result": "ok",
            "replied_at": FIXED_TIME,
            "snapshot": {"width": 1920, "height": 1080, "captured_at": FIXED_TIME, "data": image},
        }
    )
    received = open_reply(seal_reply(reply, device_key), device_key.public_key())
    assert received.snapshot is not None and received.snapshot.data == image
    assert received.result is CommandResult.ok
    # JSON (for the web UI) carries the image as base64 and reads back the same.
    assert CommandReply.model_validate_json(reply.model_dump_json()) == reply


def test_log_reply_and_mismatched_payloads(device_key: Ed25519PrivateKey) -> None:
    base = {
        "command_id": uuid.UUID(int=1),
        "device_id": DEVICE_ID,
        "replied_at": FIXED_TIME,
        "result": "ok",
    }
    log = {"filename": "agent.log.gz", "mime": "application/gzip", "data": b"\x1f\x8b\x08\x00"}
    reply = CommandReply.model_validate({**base, "name": "log_upload", "log": log})
    assert open_reply(seal_reply(reply, device_key), device_key.public_key()) == reply
    with pytest.raises(ValueError, match="log"):
        CommandReply.model_validate({**base, "name": "restart", "log": log})
    with pytest.raises(ValueError, match="resent"):
        CommandReply.model_validate({**base, "name": "snapshot", "resent": [uuid.UUID(int=2)]})


def test_a_reply_is_not_a_command(
    device_key: Ed25519PrivateKey, server_key: Ed25519PrivateKey
) -> None:
    reply = CommandReply.model_validate(
        {
            "command_id": uuid.UUID(int=1),
            "device_id": DEVICE_ID,
            "name": "restart",
            "result": "failed",
            "message": "không khởi động lại được",
            "replied_at": FIXED_TIME,
        }
    )
    data = seal_reply(reply, device_key)
    with pytest.raises(MalformedError, match="expected a 'command'"):
        open_command(data, device_key.public_key())
    with pytest.raises(SignatureError):
        open_reply(data, server_key.public_key())
