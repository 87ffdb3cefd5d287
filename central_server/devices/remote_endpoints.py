"""Remote configuration and commands for staff: push a signed config, see desired / applied /
running, send a command, read its reply, download a snapshot or a log (downloads audited)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from central_server import audit
from central_server.accounts.dependencies import Principal, Requires, SessionDep, now
from central_server.accounts.permissions import Permission
from central_server.api.common import ERROR_RESPONSES, evidence_store, server_key
from central_server.devices import commands, remote_config
from central_server.devices.models_remote import DeviceCommand
from central_server.devices.remote_schemas import (
    CommandIn,
    CommandPublic,
    ConfigPushIn,
    ConfigPushPublic,
    DeviceConfigView,
)
from central_server.errors import AppError
from protocol.fields import DEVICE_ID_PATTERN

router = APIRouter(prefix="/api/v1/devices", tags=["remote control"], responses=ERROR_RESPONSES)

# Configs hold no personal data: every staff role may read them (camera passwords are masked).
# Changing a box and commanding it is an administrator's act until a device permission exists.
Reader = Annotated[Principal, Depends(Requires(Permission.master_read))]
Admin = Annotated[Principal, Depends(Requires(Permission.master_manage))]
# Technicians in the field ask a box for a snapshot (calibration), its log or a restart.
Operate = Annotated[Principal, Depends(Requires(Permission.device_operate))]
Now = Annotated[datetime, Depends(now)]
DeviceIdPath = Annotated[str, Path(pattern=DEVICE_ID_PATTERN)]


@router.post("/{device_id}/config", status_code=201)
def push_config(
    device_id: DeviceIdPath,
    body: ConfigPushIn,
    principal: Admin,
    request: Request,
    session: SessionDep,
    at: Now,
) -> ConfigPushPublic:
    """Gửi cấu hình mới cho thiết bị / validate, sign and publish (retained) a new config."""
    config = remote_config.parse_config(body.config, body.yaml)
    push = remote_config.push_config(
        session,
        server_key(request),
        device_id=device_id,
        config=config,
        actor=principal.actor.audit_name,
        now=at,
    )
    return ConfigPushPublic.of(push)


@router.get("/{device_id}/config")
def get_config(device_id: DeviceIdPath, principal: Reader, session: SessionDep) -> DeviceConfigView:
    """Cấu hình của thiết bị / desired, applied and running config, with recent pushes."""
    return remote_config.config_view(session, device_id)


@router.post("/{device_id}/commands", status_code=202)
def send_command(
    device_id: DeviceIdPath,
    body: CommandIn,
    principal: Operate,
    request: Request,
    session: SessionDep,
    at: Now,
) -> CommandPublic:
    """Gửi lệnh cho thiết bị / send snapshot, restart, log_upload or dead_letter_resend."""
    args = commands.parse_args(body.args)
    ttl = body.ttl_s or request.app.state.settings.command_ttl_s
    row = commands.issue_command(
        session,
        server_key(request),
        device_id=device_id,
        args=args,
        ttl_s=ttl,
        actor=principal.actor.audit_name,
        now=at,
    )
    return CommandPublic.of(row)


@router.get("/{device_id}/commands")
def list_commands(
    device_id: DeviceIdPath, principal: Operate, session: SessionDep
) -> list[CommandPublic]:
    """Các lệnh gần đây / a device's recent commands, newest first."""
    return [CommandPublic.of(row) for row in commands.commands_of(session, device_id)]


@router.get("/{device_id}/commands/{command_id}")
def get_command(
    device_id: DeviceIdPath, command_id: uuid.UUID, principal: Operate, session: SessionDep
) -> CommandPublic:
    """Một lệnh và trả lời / one command with the box's reply."""
    return CommandPublic.of(commands.command_of(session, device_id, command_id))


_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"image/jpeg": {}, "text/plain": {}, "application/gzip": {}},
        "description": "The file.",
    }
}


@router.get("/{device_id}/commands/{command_id}/snapshot", response_class=Response, responses=_FILE)
def download_snapshot(
    device_id: DeviceIdPath,
    command_id: uuid.UUID,
    principal: Operate,
    request: Request,
    session: SessionDep,
) -> Response:
    """Tải ảnh chụp / the snapshot a box sent (a camera image: every download is audited)."""
    row = commands.command_of(session, device_id, command_id)
    return _download(row, "snapshot", principal, request, session)


@router.get("/{device_id}/commands/{command_id}/log", response_class=Response, responses=_FILE)
def download_log(
    device_id: DeviceIdPath,
    command_id: uuid.UUID,
    principal: Operate,
    request: Request,
    session: SessionDep,
) -> Response:
    """Tải nhật ký / the log file a box uploaded (audited)."""
    row = commands.command_of(session, device_id, command_id)
    return _download(row, "log", principal, request, session)


def _download(
    row: DeviceCommand, part: str, principal: Principal, request: Request, session: SessionDep
) -> Response:
    described = (row.reply or {}).get(part)
    if not isinstance(described, dict):
        raise AppError(404, "no_file", "Lệnh này không có tệp đó.", f"This command has no {part}.")
    sha256 = str(described["sha256"])
    data = evidence_store(request).get(sha256)
    audit.append(
        session,
        actor=principal.actor.audit_name,
        action=f"device.{part}_downloaded",
        entity_type="device",
        entity_id=row.device_id,
        after={"command_id": row.id, "sha256": sha256},
    )
    name = described.get("filename") or f"{row.device_id}-{row.id}.jpg"
    return Response(
        data,
        media_type=str(described["mime"]),
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
            "X-Content-SHA256": sha256,
        },
    )
