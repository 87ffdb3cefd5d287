"""Device registry: enrol a box's public key, rotate it, revoke it. Services never commit."""

from __future__ import annotations

from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, col, select

from central_server import audit
from central_server.models import Device, DeviceKey
from protocol.keys import key_id, public_key_to_raw
from protocol.topics import validate_device_id


class DeviceError(ValueError):
    """An enrolment that cannot be done as asked (the message says why)."""


def enrol_device(
    session: Session,
    *,
    device_id: str,
    public_key: Ed25519PublicKey,
    actor: str,
    site_id: str | None = None,
    camera_id: str = "",
    valid_from_seq: int = 0,
) -> DeviceKey:
    """Register a device (if new) and its public key, valid from `valid_from_seq` on."""
    validate_device_id(device_id)
    device = session.get(Device, device_id)
    if device is None:
        device = Device(id=device_id, site_id=site_id, camera_id=camera_id, enrolled_by=actor)
        session.add(device)
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="device.enrolled",
            entity_type="device",
            entity_id=device_id,
            after={"site_id": site_id, "camera_id": camera_id},
        )
    elif device.revoked_at is not None:
        raise DeviceError(f"thiết bị đã bị thu hồi / device {device_id} is revoked")
    kid = key_id(public_key)
    existing: DeviceKey | None = session.exec(
        select(DeviceKey).where(DeviceKey.key_id == kid)
    ).first()
    if existing is not None:
        if existing.device_id != device_id:
            raise DeviceError(f"khóa {kid} thuộc thiết bị khác / key belongs to another device")
        return existing
    _close_open_keys(session, device_id, valid_from_seq)
    key = DeviceKey(
        device_id=device_id,
        key_id=kid,
        public_key=public_key_to_raw(public_key),
        valid_from_seq=valid_from_seq,
    )
    session.add(key)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="device.key_added",
        entity_type="device",
        entity_id=device_id,
        after={"key_id": kid, "valid_from_seq": valid_from_seq},
    )
    return key


def _close_open_keys(session: Session, device_id: str, next_from_seq: int) -> None:
    """End the current key's sequence range where the new key's begins (rotation)."""
    open_keys = session.exec(
        select(DeviceKey).where(
            DeviceKey.device_id == device_id,
            col(DeviceKey.valid_to_seq).is_(None),
            col(DeviceKey.revoked_at).is_(None),
        )
    ).all()
    for old in open_keys:
        if old.valid_from_seq >= next_from_seq:
            raise DeviceError(
                f"khóa mới phải bắt đầu sau {old.valid_from_seq} / the new key's range must start "
                f"after the current key's start ({old.valid_from_seq})"
            )
        old.valid_to_seq = next_from_seq - 1
        session.add(old)


def revoke_key(session: Session, *, key_id_: str, actor: str, reason: str) -> DeviceKey:
    """Revoke one key: packets signed with it are rejected from now on."""
    key: DeviceKey | None = session.exec(
        select(DeviceKey).where(DeviceKey.key_id == key_id_)
    ).first()
    if key is None:
        raise DeviceError(f"không có khóa / no such key: {key_id_}")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(timezone.utc)
        key.revoked_reason = reason
        session.add(key)
        audit.append(
            session,
            actor=actor,
            action="device.key_revoked",
            entity_type="device",
            entity_id=key.device_id,
            after={"key_id": key_id_, "reason": reason},
        )
    return key
