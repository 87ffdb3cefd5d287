"""Requests a box signs with its current key: register its next key, archive its config.

Each is a sealed message (`protocol.sealed`: kind bound into the signature, so neither can be
replayed as the other, nor as an ack or config) carrying the device id and the time it was made;
one older or newer than `device_request_max_age_s` is refused. Both are idempotent, so a box
whose answer was lost simply asks again.
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import datetime, timedelta
from typing import TypeVar

from cryptography.exceptions import InvalidSignature
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from central_server import audit
from central_server.devices.schemas import (
    KIND_CONFIG_ARCHIVE,
    KIND_KEY_ROTATION,
    ROTATION_PROOF_DOMAIN,
    ConfigArchiveBody,
    ConfigArchiveResponse,
    KeyRotationBody,
    KeyRotationResponse,
)
from central_server.devices.service import DeviceError, rotate_key
from central_server.errors import AppError
from central_server.ingest.schemas import device_actor
from central_server.models import ConfigKind, Device, DeviceConfigArchive, DeviceKey
from protocol.config import Calibration, DeviceConfig, calibration_sha256, config_sha256
from protocol.errors import ProtocolError, describe_validation
from protocol.keys import public_key_from_pem, public_key_from_raw
from protocol.sealed import peek, unseal

logger = logging.getLogger(__name__)

BodyT = TypeVar("BodyT", bound=BaseModel)


def _refused(status: int, code: str, vi: str, en: str) -> AppError:
    return AppError(status, code, vi, en)


def _signing_key(session: Session, key_id_: str) -> DeviceKey:
    key: DeviceKey | None = session.exec(
        select(DeviceKey).where(DeviceKey.key_id == key_id_)
    ).first()
    device = None if key is None else session.get(Device, key.device_id)
    if key is None or device is None:
        raise _refused(
            401, "unknown_key", "Khóa thiết bị chưa đăng ký.", f"Key {key_id_} is not registered."
        )
    if key.revoked_at is not None or device.revoked_at is not None:
        raise _refused(
            403, "key_revoked", "Khóa thiết bị đã bị thu hồi.", f"Key {key_id_} is revoked."
        )
    return key


def open_device_request(
    session: Session,
    sealed_b64: str,
    kind: str,
    body_cls: type[BodyT],
    *,
    now: datetime,
    max_age_s: float,
) -> tuple[BodyT, DeviceKey]:
    """Verify a device-signed request: registered, unrevoked key of the named device, fresh."""
    try:
        data = base64.b64decode(sealed_b64, validate=True)
        key = _signing_key(session, peek(data).key_id)
        body = unseal(kind, data, body_cls, public_key_from_raw(key.public_key))
    except (ValueError, ProtocolError) as exc:  # ValueError: bad base64, non-ASCII text
        raise _refused(
            401, "bad_signature", "Yêu cầu không có chữ ký hợp lệ.", f"Not validly signed: {exc}"
        ) from exc
    if getattr(body, "device_id", None) != key.device_id:
        raise _refused(
            403, "wrong_device", "Khóa không thuộc thiết bị này.", "Key of another device."
        )
    issued_at: datetime = getattr(body, "issued_at", now)
    if abs(now - issued_at) > timedelta(seconds=max_age_s):
        raise _refused(
            401,
            "stale_request",
            "Yêu cầu quá cũ hoặc đồng hồ thiết bị lệch; kiểm tra giờ (provision check).",
            f"Request issued at {issued_at.isoformat()}: stale, or the box's clock is off.",
        )
    return body, key


def rotate_from_request(
    session: Session, sealed_b64: str, *, now: datetime, max_age_s: float
) -> KeyRotationResponse:
    """Register the key a box's current key vouches for, valid from the box's next sequence."""
    body, current = open_device_request(
        session, sealed_b64, KIND_KEY_ROTATION, KeyRotationBody, now=now, max_age_s=max_age_s
    )
    try:
        new_key = public_key_from_pem(body.new_public_key_pem.encode("ascii"))
        proof = ROTATION_PROOF_DOMAIN + f"{body.device_id}\x00{current.key_id}".encode()
        new_key.verify(base64.b64decode(body.new_key_proof, validate=True), proof)
    except (ProtocolError, UnicodeEncodeError, binascii.Error, InvalidSignature) as exc:
        raise _refused(
            422, "bad_key_proof", "Khóa mới không hợp lệ.", f"The new key is invalid: {exc}"
        ) from exc
    try:
        key = rotate_key(
            session,
            current=current,
            new_public_key=new_key,
            next_seq=body.next_seq,
            actor=device_actor(body.device_id),
        )
    except DeviceError as exc:
        raise AppError(409, "rotation_refused", str(exc), str(exc)) from exc
    session.refresh(current)
    logger.info(
        "device %s rotated to key %s from seq %d", key.device_id, key.key_id, key.valid_from_seq
    )
    return KeyRotationResponse(
        device_id=key.device_id,
        key_id=key.key_id,
        valid_from_seq=key.valid_from_seq,
        previous_key_id=current.key_id,
        previous_valid_to_seq=current.valid_to_seq,
    )


def _validated(body: ConfigArchiveBody) -> tuple[DeviceConfig, Calibration]:
    try:
        config = DeviceConfig.model_validate(body.config)
    except ValidationError as exc:
        raise _refused(
            422,
            "invalid_config",
            f"Cấu hình không hợp lệ: {describe_validation(exc)}",
            f"Invalid config: {describe_validation(exc)}",
        ) from exc
    if config.device.id != body.device_id:
        raise _refused(422, "wrong_device", "Cấu hình của thiết bị khác.", "Another box's config.")
    if calibration_sha256(config.calibration) != body.calibration_sha256:
        raise _refused(
            422,
            "calibration_hash",
            "Mã băm hiệu chỉnh không khớp nội dung.",
            "calibration_sha256 does not match the calibration sent.",
        )
    if not body.redacted and config_sha256(config) != body.config_sha256:
        raise _refused(
            422,
            "config_hash",
            "Mã băm cấu hình không khớp nội dung.",
            "config_sha256 does not match the config sent.",
        )
    return config, config.calibration


def _archive(session: Session, row: DeviceConfigArchive) -> bool:
    """Add the document unless archived already (by anyone: the hash names the content)."""
    if session.get(DeviceConfigArchive, row.sha256) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same upload racing in on another worker
        return False
    return True


def archive_from_request(
    session: Session, sealed_b64: str, *, now: datetime, max_age_s: float
) -> ConfigArchiveResponse:
    """Archive a box's config and calibration by hash (the hashes its packets carry).

    The calibration is checked against its hash. A config whose camera credentials the box
    blanked out cannot be re-hashed here: it is archived under the hash the device signed."""
    body, key = open_device_request(
        session, sealed_b64, KIND_CONFIG_ARCHIVE, ConfigArchiveBody, now=now, max_age_s=max_age_s
    )
    config, calibration = _validated(body)
    documents = (
        (ConfigKind.config, body.config_sha256, config.model_dump(mode="json")),
        (ConfigKind.calibration, body.calibration_sha256, calibration.model_dump(mode="json")),
    )
    created = [
        kind.value
        for kind, sha256, document in documents
        if _archive(
            session,
            DeviceConfigArchive(
                sha256=sha256, device_id=key.device_id, kind=kind, body=document, created_at=now
            ),
        )
    ]
    if created:
        audit.append(
            session,
            actor=device_actor(key.device_id),
            action="device.config_archived",
            entity_type="device",
            entity_id=key.device_id,
            after={
                "config_sha256": body.config_sha256,
                "calibration_sha256": body.calibration_sha256,
                "redacted": body.redacted,
                "key_id": key.key_id,
            },
        )
    return ConfigArchiveResponse(
        device_id=key.device_id,
        config_sha256=body.config_sha256,
        calibration_sha256=body.calibration_sha256,
        created=created,
    )
