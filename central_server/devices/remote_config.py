"""Config pushes: validated with the box's own schema, signed with the server key, stored for
the control client to publish retained on the box's config topic; the box's report closes them.

Services never commit: the request (or the control worker's job) owns the transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from central_server import audit
from central_server.devices.models_health import DeviceHealth
from central_server.devices.models_remote import DeviceConfigPush, PushState
from central_server.devices.remote_schemas import ConfigPushPublic, DeviceConfigView
from central_server.errors import AppError
from central_server.ingest.schemas import device_actor
from central_server.models import ConfigKind, Device, DeviceConfigArchive
from central_server.server_keys import register_server_key
from protocol.commands import CommandReply, config_report_id
from protocol.config import (
    DeviceConfig,
    SignedConfig,
    calibration_sha256,
    config_sha256,
    format_config_errors,
    seal_config,
)
from protocol.enums import ConfigApplyState
from protocol.errors import ProtocolError
from protocol.keys import key_id

logger = logging.getLogger(__name__)

OPEN_STATES = (PushState.pending, PushState.published)
ANSWERABLE = (*OPEN_STATES, PushState.superseded)  # a box may apply a push before the newer one
_FROM_REPORT = {
    ConfigApplyState.applied: PushState.applied,
    ConfigApplyState.rolled_back: PushState.rolled_back,
    ConfigApplyState.refused: PushState.refused,
}


def invalid_config(problems: list[str]) -> AppError:
    """422 naming every bad key and why (the lines `--validate-config` prints on the box)."""
    fields = sorted({line.split(":", 1)[0] for line in problems if ":" in line})
    return AppError(
        422,
        "invalid_config",
        "Cấu hình không hợp lệ: " + "; ".join(problems),
        "Invalid config: " + "; ".join(problems),
        detail={"problems": problems, "fields": fields},
    )


def parse_config(data: dict[str, Any] | None, text: str | None) -> DeviceConfig:
    """A config from JSON data or YAML text (exactly one); 422 with each problem otherwise."""
    if (data is None) == (text is None):
        raise invalid_config(["config: gửi `config` hoặc `yaml`, một trong hai / give one"])
    if text is not None:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise invalid_config([f"yaml: YAML không hợp lệ / invalid YAML: {exc}"]) from exc
        if not isinstance(data, dict):
            raise invalid_config(["yaml: phải là một bảng khóa / must be a mapping"])
    try:
        return DeviceConfig.model_validate(data)
    except ValidationError as exc:
        raise invalid_config(format_config_errors(exc)) from exc


def live_device(session: Session, device_id: str) -> Device:
    """The device, which must exist and not be revoked (404, 409)."""
    device = session.get(Device, device_id)
    if device is None:
        raise AppError(404, "device_not_found", "Không tìm thấy thiết bị.", "No such device.")
    if device.revoked_at is not None:
        raise AppError(409, "device_revoked", "Thiết bị đã bị thu hồi.", "The device is revoked.")
    return device


def push_config(
    session: Session,
    key: Ed25519PrivateKey,
    *,
    device_id: str,
    config: DeviceConfig,
    actor: str,
    now: datetime,
) -> DeviceConfigPush:
    """Sign `config` as the device's next version and store it for publishing (audited)."""
    live_device(session, device_id)
    if config.device.id != device_id:
        raise invalid_config([f"device.id: phải là {device_id} / must be {device_id}"])
    latest = session.exec(
        select(func.max(col(DeviceConfigPush.version))).where(
            col(DeviceConfigPush.device_id) == device_id
        )
    ).one()
    version = int(latest or 0) + 1
    signed = SignedConfig(device_id=device_id, version=version, issued_at=now, config=config)
    try:
        sealed = seal_config(signed, key)
    except ProtocolError as exc:
        raise invalid_config([f"config: {exc}"]) from exc
    register_server_key(session, key)
    _supersede_open(session, device_id, actor, now)
    sha = config_sha256(config)
    push = DeviceConfigPush(
        id=config_report_id(device_id, version),
        device_id=device_id,
        version=version,
        config_sha256=sha,
        key_id=key_id(key),
        sealed=sealed,
        created_at=now,
        created_by=actor,
    )
    try:
        with session.begin_nested():
            session.add(push)
    except IntegrityError as exc:  # another admin pushed the same version a moment earlier
        raise AppError(
            409, "push_conflict", "Có cấu hình khác vừa được gửi; hãy thử lại.", "Retry."
        ) from exc
    _archive(session, device_id, config, now)
    audit.append(
        session,
        actor=actor,
        action="device.config_pushed",
        entity_type="device",
        entity_id=device_id,
        after={"push_id": push.id, "version": version, "config_sha256": sha, "key_id": push.key_id},
    )
    return push


def _supersede_open(session: Session, device_id: str, actor: str, now: datetime) -> None:
    older = session.exec(
        select(DeviceConfigPush).where(
            col(DeviceConfigPush.device_id) == device_id,
            col(DeviceConfigPush.state).in_(OPEN_STATES),
        )
    ).all()
    for push in older:
        set_state(session, push, PushState.superseded, actor=actor, now=now)


def _archive(session: Session, device_id: str, config: DeviceConfig, now: datetime) -> None:
    """Archive config and calibration by hash (packets name them only by hash)."""
    for kind, sha, body in (
        (ConfigKind.config, config_sha256(config), config.model_dump(mode="json")),
        (
            ConfigKind.calibration,
            calibration_sha256(config.calibration),
            config.calibration.model_dump(mode="json"),
        ),
    ):
        if session.get(DeviceConfigArchive, sha) is not None:
            continue
        row = DeviceConfigArchive(
            sha256=sha, device_id=device_id, kind=kind, body=body, created_at=now
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # archived meanwhile by another request
            continue


def set_state(
    session: Session, push: DeviceConfigPush, state: PushState, *, actor: str, now: datetime
) -> None:
    """Move a push to `state`, with its audit row."""
    before = push.state
    push.state = state
    if state is PushState.published:
        push.published_at = now
    session.add(push)
    audit.append(
        session,
        actor=actor,
        action=f"device.config_{state.value}",
        entity_type="device",
        entity_id=push.device_id,
        before={"push_id": push.id, "state": before.value},
        after={"push_id": push.id, "state": state.value, "version": push.version},
    )


def record_report(
    session: Session, device_id: str, reply: CommandReply, now: datetime
) -> DeviceConfigPush | None:
    """Apply the box's report on a push; None when it names no push of ours."""
    report = reply.config
    if report is None or report.version is None:
        logger.warning("device %s reports on an unreadable config: %s", device_id, reply.message)
        return None
    push: DeviceConfigPush | None = session.exec(
        select(DeviceConfigPush).where(
            col(DeviceConfigPush.device_id) == device_id,
            col(DeviceConfigPush.version) == report.version,
        )
    ).first()
    if push is None or (report.config_sha256 not in (None, push.config_sha256)):
        logger.warning(
            "device %s reports %s on config version %s, which the server never pushed",
            device_id,
            report.state.value,
            report.version,
        )
        return None
    if push.state not in ANSWERABLE:
        logger.info("device %s answered config version %d again", device_id, push.version)
        return push
    push.answered_at = now
    push.message = reply.message
    push.running_sha256 = report.running_sha256
    set_state(session, push, _FROM_REPORT[report.state], actor=device_actor(device_id), now=now)
    return push


def pending_pushes(session: Session, limit: int = 100) -> list[DeviceConfigPush]:
    """Pushes not yet on the broker, oldest first."""
    statement = (
        select(DeviceConfigPush)
        .where(col(DeviceConfigPush.state) == PushState.pending)
        .order_by(col(DeviceConfigPush.created_at))
        .limit(limit)
    )
    return list(session.exec(statement).all())


def latest_pushes(session: Session) -> list[DeviceConfigPush]:
    """Each device's newest published push: re-asserted as the retained message on reconnect
    (a broker without persistence forgets retained messages when it restarts)."""
    newest = (
        select(col(DeviceConfigPush.device_id), func.max(col(DeviceConfigPush.version)).label("v"))
        .group_by(col(DeviceConfigPush.device_id))
        .subquery()
    )
    statement = select(DeviceConfigPush).join(
        newest,
        (col(DeviceConfigPush.device_id) == newest.c.device_id)
        & (col(DeviceConfigPush.version) == newest.c.v),
    )
    return [p for p in session.exec(statement).all() if p.state is not PushState.pending]


def pushes_of(session: Session, device_id: str, limit: int = 20) -> list[DeviceConfigPush]:
    """A device's pushes, newest first."""
    statement = (
        select(DeviceConfigPush)
        .where(col(DeviceConfigPush.device_id) == device_id)
        .order_by(col(DeviceConfigPush.version).desc())
        .limit(limit)
    )
    return list(session.exec(statement).all())


def archived_config(session: Session, sha256: str | None) -> dict[str, Any] | None:
    """An archived config by hash, its camera password blanked (staff see it, not the NVR)."""
    row = session.get(DeviceConfigArchive, sha256) if sha256 else None
    if row is None or row.kind is not ConfigKind.config:
        return None
    body = dict(row.body)
    camera = dict(body.get("camera") or {})
    source = camera.get("source")
    if isinstance(source, str):
        camera["source"] = redact_password(source)
        body["camera"] = camera
    return body


def redact_password(source: str) -> str:
    """An RTSP URL with its password replaced by `***`."""
    parts = urlsplit(source)
    if parts.password is None:
        return source
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def config_view(session: Session, device_id: str) -> DeviceConfigView:
    """Desired, applied and running config of a device (404 when it does not exist)."""
    if session.get(Device, device_id) is None:
        raise AppError(404, "device_not_found", "Không tìm thấy thiết bị.", "No such device.")
    pushes = pushes_of(session, device_id)
    desired = pushes[0] if pushes else None
    applied = next((p for p in pushes if p.state is PushState.applied), None)
    health = session.get(DeviceHealth, device_id)
    running = health.config_sha256 if health is not None else None
    in_sync = (
        desired is not None
        and desired.state is PushState.applied
        and running in (None, desired.config_sha256)
    )
    return DeviceConfigView(
        device_id=device_id,
        desired=ConfigPushPublic.of(desired) if desired else None,
        desired_config=archived_config(session, desired.config_sha256) if desired else None,
        applied=ConfigPushPublic.of(applied) if applied else None,
        running_sha256=running,
        running_reported_at=health.last_heartbeat_at if health is not None else None,
        in_sync=in_sync,
        pushes=[ConfigPushPublic.of(p) for p in pushes],
    )
