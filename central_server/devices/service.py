"""Device registry: enrol a box's public key, rotate it, revoke it. Services never commit."""

from __future__ import annotations

from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, col, func, select

from central_server import audit
from central_server.models import Device, DeviceKey, Packet
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


def next_free_seq(session: Session, device_id: str) -> int:
    """The lowest sequence a new key of the device may start at: above every key's range start,
    every closed range and every stored packet (0 for a device never seen)."""
    device = session.get(Device, device_id)
    floor = 0 if device is None or device.last_seq is None else device.last_seq + 1
    keys = session.exec(select(DeviceKey).where(DeviceKey.device_id == device_id)).all()
    for key in keys:
        end = key.valid_from_seq if key.valid_to_seq is None else key.valid_to_seq
        floor = max(floor, end + 1)
    return floor


def rotate_key(
    session: Session,
    *,
    current: DeviceKey,
    new_public_key: Ed25519PublicKey,
    next_seq: int,
    actor: str,
) -> DeviceKey:
    """Register the device's next key, valid from `next_seq` (raised past what the server has
    seen); the current key's range ends just before. A repeated request returns the same key."""
    kid = key_id(new_public_key)
    existing: DeviceKey | None = session.exec(
        select(DeviceKey).where(DeviceKey.key_id == kid)
    ).first()
    if existing is not None and existing.device_id == current.device_id:
        return existing  # the box retries after a lost answer
    if current.valid_to_seq is not None or current.revoked_at is not None:
        raise DeviceError(
            f"khóa {current.key_id} không còn là khóa hiện hành / key {current.key_id} is not "
            "the device's current key (rotated or revoked): enrol again with a new token"
        )
    valid_from = max(next_seq, next_free_seq(session, current.device_id))
    return enrol_device(
        session,
        device_id=current.device_id,
        public_key=new_public_key,
        actor=actor,
        valid_from_seq=valid_from,
    )


def _key_by_id(session: Session, key_id_: str) -> DeviceKey:
    key: DeviceKey | None = session.exec(
        select(DeviceKey).where(DeviceKey.key_id == key_id_)
    ).first()
    if key is None:
        raise DeviceError(f"không có khóa / no such key: {key_id_}")
    return key


def revoke_key(
    session: Session,
    *,
    key_id_: str,
    actor: str,
    reason: str,
    at: datetime | None = None,
) -> DeviceKey:
    """Revoke one key from `at` (default now) on: ingest refuses every packet it signed that
    arrives later, whatever its sequence number (a stolen box, a leaked key)."""
    key = _key_by_id(session, key_id_)
    cutoff = at or datetime.now(timezone.utc)
    if key.revoked_at is None or cutoff < key.revoked_at:
        key.revoked_at = cutoff
        key.revoked_reason = reason
        session.add(key)
        audit.append(
            session,
            actor=actor,
            action="device.key_revoked",
            entity_type="device",
            entity_id=key.device_id,
            after={"key_id": key_id_, "reason": reason, "at": cutoff},
        )
    return key


def revoke_key_from_seq(
    session: Session, *, key_id_: str, actor: str, reason: str, from_seq: int
) -> DeviceKey:
    """End the key's range before `from_seq`: what it signed below still verifies (the backlog),
    anything from `from_seq` on is refused. At or below its first sequence: revoked outright."""
    key = _key_by_id(session, key_id_)
    if from_seq <= key.valid_from_seq:
        return revoke_key(session, key_id_=key_id_, actor=actor, reason=reason)
    if key.valid_to_seq is None or key.valid_to_seq >= from_seq:
        key.valid_to_seq = from_seq - 1
        key.revoked_reason = reason
        session.add(key)
        audit.append(
            session,
            actor=actor,
            action="device.key_revoked",
            entity_type="device",
            entity_id=key.device_id,
            after={"key_id": key_id_, "reason": reason, "from_seq": from_seq},
        )
    return key


def packets_after_cutoff(
    session: Session, key: DeviceKey, *, from_seq: int | None = None, at: datetime | None = None
) -> int:
    """Stored packets the key signed at or after the cut-off: evidence to look at again."""
    statement = select(func.count()).select_from(Packet).where(Packet.key_id == key.key_id)
    if from_seq is not None:
        statement = statement.where(col(Packet.seq) >= from_seq)
    if at is not None:
        statement = statement.where(col(Packet.received_at) >= at)
    return int(session.exec(statement).one())


def revoke_with_cutoff(
    session: Session,
    *,
    key_id_: str,
    reason: str,
    actor: str,
    from_seq: int | None = None,
    at: datetime | None = None,
) -> tuple[DeviceKey, int]:
    """Revoke from a sequence number or a time (default now, never both); returns the key and
    how many stored packets it signed at or after the cut-off."""
    if from_seq is not None and at is not None:
        raise ValueError("give one cut-off: from_seq or at")
    if from_seq is not None:
        key = revoke_key_from_seq(
            session, key_id_=key_id_, actor=actor, reason=reason, from_seq=from_seq
        )
        return key, packets_after_cutoff(session, key, from_seq=from_seq)
    key = revoke_key(session, key_id_=key_id_, actor=actor, reason=reason, at=at)
    return key, packets_after_cutoff(session, key, at=key.revoked_at)
