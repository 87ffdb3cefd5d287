"""Device commands: validated and signed here, published by the control client, answered by the
box on its reply topic. Snapshot images and log files go into the evidence store by hash.

Services never commit: the request (or the control worker's job) owns the transaction.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session, col, select

from central_server import audit
from central_server.devices.models_remote import CommandState, DeviceCommand
from central_server.devices.remote_config import live_device
from central_server.errors import AppError
from central_server.evidence_store import EvidenceStore
from central_server.ingest.schemas import device_actor
from central_server.server_keys import register_server_key
from protocol.commands import Command, CommandArgs, CommandReply, seal_command
from protocol.enums import CommandName
from protocol.ids import new_packet_id

logger = logging.getLogger(__name__)

CONTROL_ACTOR = "system:control"
_ARGS: TypeAdapter[CommandArgs] = TypeAdapter(CommandArgs)
UNANSWERED = (CommandState.pending, CommandState.sent, CommandState.expired)
_MESSAGES_VI = {
    "extra_forbidden": "khóa không được phép (unknown key)",
    "missing": "thiếu trường bắt buộc (missing field)",
}


def parse_args(data: dict[str, Any]) -> CommandArgs:
    """The command's arguments; 422 naming each bad key otherwise."""
    try:
        return _ARGS.validate_python(data)
    except ValidationError as exc:
        problems = _problems(exc)
        fields = sorted({line.split(":", 1)[0] for line in problems})
        raise AppError(
            422,
            "invalid_command",
            "Lệnh không hợp lệ: " + "; ".join(problems),
            "Invalid command: " + "; ".join(problems),
            detail={"problems": problems, "fields": fields},
        ) from exc


def _problems(exc: ValidationError) -> list[str]:
    """`args.<key>: reason` for each error (pydantic puts the union's tag in the path)."""
    names = {name.value for name in CommandName if name is not CommandName.config}
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        if loc and loc[0] in names:
            loc = loc[1:]
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = ["name"]
            message = "lệnh không có / unknown command; one of " + ", ".join(sorted(names))
        else:
            message = _MESSAGES_VI.get(error["type"], error["msg"])
        lines.append(".".join(["args", *loc]) + f": {message}")
    return lines


def issue_command(
    session: Session,
    key: Ed25519PrivateKey,
    *,
    device_id: str,
    args: CommandArgs,
    ttl_s: float,
    actor: str,
    now: datetime,
) -> DeviceCommand:
    """Sign a command for the device and store it for publishing (audited)."""
    live_device(session, device_id)
    command = Command(
        command_id=new_packet_id(),  # a UUIDv7: time-ordered, so lists sort by it
        device_id=device_id,
        issued_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
        args=args,
    )
    register_server_key(session, key)
    assert command.expires_at is not None
    row = DeviceCommand(
        id=command.command_id,
        device_id=device_id,
        name=command.name,
        args=args.model_dump(mode="json"),
        issued_at=now,
        issued_by=actor,
        expires_at=command.expires_at,
        sealed=seal_command(command, key),
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="device.command_issued",
        entity_type="device",
        entity_id=device_id,
        after={"command_id": row.id, "args": row.args, "expires_at": row.expires_at},
    )
    return row


def set_state(
    session: Session, row: DeviceCommand, state: CommandState, *, actor: str, now: datetime
) -> None:
    """Move a command to `state`, with its audit row."""
    before = row.state
    row.state = state
    if state is CommandState.sent:
        row.sent_at = now
    session.add(row)
    after: dict[str, Any] = {"command_id": row.id, "state": state.value}
    if row.result is not None:
        after |= {"result": row.result.value, "message": row.message, "reply": row.reply}
    audit.append(
        session,
        actor=actor,
        action=f"device.command_{state.value}",
        entity_type="device",
        entity_id=row.device_id,
        before={"command_id": row.id, "state": before.value},
        after=after,
    )


def record_reply(
    session: Session,
    store: EvidenceStore,
    device_id: str,
    reply: CommandReply,
    raw: bytes,
    now: datetime,
) -> DeviceCommand | None:
    """Store a box's reply (payloads in the evidence store); None for a command not its own."""
    row = session.get(DeviceCommand, reply.command_id)
    if row is None or row.device_id != device_id or row.name is not reply.name:
        logger.warning(
            "device %s answered command %s (%s), which the server never sent it",
            device_id,
            reply.command_id,
            reply.name.value,
        )
        return None
    if row.state not in UNANSWERED:
        logger.info("device %s answered command %s again", device_id, row.id)
        return row
    row.result = reply.result
    row.message = reply.message
    row.answered_at = now
    row.reply = _payload(store, reply)
    row.reply_sha256 = store.put(raw)  # the signed reply, as proof of what the box said
    set_state(session, row, CommandState.answered, actor=device_actor(device_id), now=now)
    return row


def _payload(store: EvidenceStore, reply: CommandReply) -> dict[str, Any]:
    payload: dict[str, Any] = {"replied_at": reply.replied_at.isoformat()}
    if reply.snapshot is not None:
        image = reply.snapshot
        payload["snapshot"] = {
            "sha256": store.put(image.data),
            "mime": image.mime,
            "width": image.width,
            "height": image.height,
            "captured_at": image.captured_at.isoformat(),
            "size": len(image.data),
        }
    if reply.log is not None:
        log = reply.log
        payload["log"] = {
            "sha256": store.put(log.data),
            "filename": log.filename,
            "mime": log.mime,
            "truncated": log.truncated,
            "size": len(log.data),
        }
    if reply.resent:
        payload["resent"] = [str(packet_id) for packet_id in reply.resent]
    return payload


def expire_overdue(session: Session, now: datetime) -> int:
    """Mark commands unanswered past their expiry as expired (audited); how many."""
    rows = session.exec(
        select(DeviceCommand).where(
            col(DeviceCommand.state).in_((CommandState.pending, CommandState.sent)),
            col(DeviceCommand.expires_at) < now,
        )
    ).all()
    for row in rows:
        set_state(session, row, CommandState.expired, actor=CONTROL_ACTOR, now=now)
    return len(rows)


def pending_commands(session: Session, now: datetime, limit: int = 100) -> list[DeviceCommand]:
    """Commands to publish, oldest first (never one already expired)."""
    statement = (
        select(DeviceCommand)
        .where(
            col(DeviceCommand.state) == CommandState.pending,
            col(DeviceCommand.expires_at) >= now,
        )
        .order_by(col(DeviceCommand.issued_at))
        .limit(limit)
    )
    return list(session.exec(statement).all())


def commands_of(session: Session, device_id: str, limit: int = 50) -> list[DeviceCommand]:
    """A device's commands, newest first."""
    statement = (
        select(DeviceCommand)
        .where(col(DeviceCommand.device_id) == device_id)
        .order_by(col(DeviceCommand.issued_at).desc(), col(DeviceCommand.id).desc())
        .limit(limit)
    )
    return list(session.exec(statement).all())


def command_of(session: Session, device_id: str, command_id: uuid.UUID) -> DeviceCommand:
    """One command of a device (404 otherwise)."""
    row = session.get(DeviceCommand, command_id)
    if row is None or row.device_id != device_id:
        raise AppError(404, "command_not_found", "Không tìm thấy lệnh.", "No such command.")
    return row
