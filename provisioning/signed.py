"""What the box signs for the server: the proof that it holds a key, a key rotation, its config.

The bodies match `central_server/devices/schemas.py` field for field (the server refuses unknown
fields); the end-to-end tests send them through the real API. They travel as sealed messages
(`protocol.sealed`), whose kind is bound into the signature.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict

from edge_agent.capture.base import redact_url
from protocol.config import DeviceConfig, calibration_sha256, config_sha256
from protocol.keys import Ed25519PrivateKey, key_id, public_key_to_pem
from protocol.sealed import seal

KIND_KEY_ROTATION = "key_rotation"
KIND_CONFIG_ARCHIVE = "config_archive"
ENROL_PROOF_DOMAIN = b"trafficwatch/enrol-proof\x00"
ROTATION_PROOF_DOMAIN = b"trafficwatch/rotation-proof\x00"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyRotationBody(_Body):
    """Sealed by the current key: register the new one from `next_seq` on."""

    device_id: str
    new_public_key_pem: str
    new_key_proof: str
    next_seq: int
    issued_at: datetime


class ConfigArchiveBody(_Body):
    """Sealed by the current key: the config in force, camera credentials blanked out."""

    device_id: str
    config_sha256: str
    calibration_sha256: str
    config: dict[str, Any]
    redacted: list[str]
    issued_at: datetime


def normalise_token(token: str) -> str:
    """The token as the server hashes it: upper case, no spaces or dashes."""
    return re.sub(r"[\s-]", "", token).upper()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def enrol_proof(key: Ed25519PrivateKey, token: str) -> str:
    """Signature by the new key binding it to this enrolment token."""
    return _b64(key.sign(ENROL_PROOF_DOMAIN + normalise_token(token).encode("ascii")))


def public_pem(key: Ed25519PrivateKey) -> str:
    """The public half as PEM text."""
    return public_key_to_pem(key.public_key()).decode("ascii")


def seal_rotation(
    current: Ed25519PrivateKey, new: Ed25519PrivateKey, device_id: str, next_seq: int
) -> str:
    """The rotation request, signed by the current key, vouching for `new` (base64)."""
    proof = new.sign(ROTATION_PROOF_DOMAIN + f"{device_id}\x00{key_id(current)}".encode())
    body = KeyRotationBody(
        device_id=device_id,
        new_public_key_pem=public_pem(new),
        new_key_proof=_b64(proof),
        next_seq=next_seq,
        issued_at=datetime.now(timezone.utc),
    )
    return _b64(seal(KIND_KEY_ROTATION, body, current))


def redacted_config(config: DeviceConfig) -> tuple[dict[str, Any], list[str]]:
    """The config as JSON data with the camera's password removed, and what was removed."""
    data = config.model_dump(mode="json")
    source = config.camera.source
    cleaned = redact_url(source)
    if cleaned == source:
        return data, []
    data["camera"]["source"] = cleaned
    return data, ["camera.source"]


def seal_config_archive(key: Ed25519PrivateKey, config: DeviceConfig) -> tuple[str, str, str]:
    """The config archive request (base64), the config's and the calibration's sha256."""
    data, redacted = redacted_config(config)
    body = ConfigArchiveBody(
        device_id=config.device.id,
        config_sha256=config_sha256(config),
        calibration_sha256=calibration_sha256(config.calibration),
        config=data,
        redacted=redacted,
        issued_at=datetime.now(timezone.utc),
    )
    return _b64(seal(KIND_CONFIG_ARCHIVE, body, key)), body.config_sha256, body.calibration_sha256
