"""Enrol a box with a one-time token: register its key, issue its broker login, answer its config.

The box made its Ed25519 key itself and sends only the public half, with a signature proving it
holds the private one. The answer carries the device id, the broker address and a fresh random
password (stored here only as a Mosquitto `$7$` hash), the broker's CA and the server's public key.
Services never commit: the request owns the transaction, so a refused token changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlmodel import Session

from central_server import audit
from central_server.devices.models_enrolment import DeviceBrokerCredential, EnrolmentToken
from central_server.devices.schemas import (
    ENROL_PROOF_DOMAIN,
    BrokerAccess,
    EnrolmentRequest,
    EnrolmentResponse,
    Location,
)
from central_server.devices.service import DeviceError, enrol_device, next_free_seq
from central_server.devices.tokens import claim_token, normalise_token
from central_server.errors import AppError
from central_server.models import Device, DeviceAssignment, DeviceKey, Site
from central_server.server_keys import public_key_pem, register_server_key
from central_server.settings import Settings, env_file
from protocol.errors import MalformedError
from protocol.keys import Ed25519PrivateKey, Ed25519PublicKey, key_id, public_key_from_pem

logger = logging.getLogger(__name__)

ENROLMENT_ACTOR = "system:enrolment"
# Mosquitto's own default; the passwords are 256 random bits, so the iteration count only has to
# keep a broker's CPU cheap when a whole city reconnects at once, not slow down guessing.
MOSQUITTO_ITERATIONS = 101
MOSQUITTO_SALT_BYTES = 12


class EnrolmentSettings(BaseSettings):
    """What the server tells an enrolling box (environment prefix `TW_`)."""

    model_config = SettingsConfigDict(
        env_prefix="TW_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    device_mqtt_host: str | None = Field(
        default=None, description="Broker host as the boxes reach it; default TW_MQTT_HOST."
    )
    device_mqtt_port: int | None = Field(
        default=None, ge=1, le=65535, description="Broker port for boxes; default TW_MQTT_PORT."
    )
    device_mqtt_tls: bool | None = Field(
        default=None, description="Boxes use TLS; default TW_MQTT_TLS."
    )
    device_mqtt_ca_file: Path | None = Field(
        default=None, description="The broker CA (PEM) given to boxes; default TW_MQTT_CA_FILE."
    )
    device_ntp_server: str | None = Field(
        default="pool.ntp.org", description="NTP server boxes check their clock against."
    )
    device_request_max_age_s: float = Field(
        default=900,
        gt=0,
        description="A box's signed request older (or newer) than this is refused.",
    )


@functools.lru_cache(maxsize=1)
def get_enrolment_settings() -> EnrolmentSettings:
    """The process-wide enrolment settings, read once."""
    return EnrolmentSettings(_env_file=env_file())


def mosquitto_hash(password: str, *, salt: bytes | None = None) -> str:
    """A Mosquitto 2 password-file hash: `$7$iterations$base64(salt)$base64(PBKDF2-SHA512)`."""
    salt = salt if salt is not None else secrets.token_bytes(MOSQUITTO_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, MOSQUITTO_ITERATIONS)
    encoded = (base64.b64encode(salt).decode(), base64.b64encode(digest).decode())
    return f"$7${MOSQUITTO_ITERATIONS}${encoded[0]}${encoded[1]}"


def mosquitto_verify(password: str, stored: str) -> bool:
    """Whether `password` matches a `$7$` hash (as Mosquitto checks it)."""
    parts = stored.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    salt, expected = base64.b64decode(parts[3]), base64.b64decode(parts[4])
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, int(parts[2]))
    return hmac.compare_digest(digest, expected)


def issue_broker_password(session: Session, device_id: str, *, now: datetime) -> str:
    """A new random broker password for the device (replacing any earlier one); returns it."""
    password = secrets.token_urlsafe(32)
    row = session.get(DeviceBrokerCredential, device_id)
    if row is None:
        row = DeviceBrokerCredential(device_id=device_id, username=device_id, password_hash="")
    row.password_hash = mosquitto_hash(password)
    row.issued_at = now
    session.add(row)
    return password


def broker_access(
    settings: Settings, enrolment: EnrolmentSettings, username: str, password: str
) -> BrokerAccess:
    """How the box reaches the broker, from the device-facing settings."""
    tls = settings.mqtt_tls if enrolment.device_mqtt_tls is None else enrolment.device_mqtt_tls
    ca_file = enrolment.device_mqtt_ca_file or settings.mqtt_ca_file
    ca_pem = ca_file.read_text(encoding="ascii") if tls and ca_file is not None else None
    return BrokerAccess(
        host=enrolment.device_mqtt_host or settings.mqtt_host,
        port=enrolment.device_mqtt_port or settings.mqtt_port,
        tls=tls,
        username=username,
        password=password,
        topic_prefix=settings.topic_prefix,
        ca_pem=ca_pem,
    )


def _public_key_with_proof(request: EnrolmentRequest) -> Ed25519PublicKey:
    try:
        public_key = public_key_from_pem(request.public_key_pem.encode("ascii"))
        proof = base64.b64decode(request.proof, validate=True)
        signed = ENROL_PROOF_DOMAIN + normalise_token(request.token).encode("ascii")
        public_key.verify(proof, signed)
    except (MalformedError, UnicodeEncodeError, binascii.Error, InvalidSignature) as exc:
        raise AppError(
            422,
            "bad_key_proof",
            "Khóa công khai hoặc chữ ký chứng minh không hợp lệ.",
            f"The public key or its proof of possession is invalid: {exc}",
        ) from exc
    return public_key


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", value.lower()).strip("-_")[:50] or "box"


def _choose_device_id(
    session: Session, token: EnrolmentToken, request: EnrolmentRequest, camera_id: str
) -> str:
    if token.device_id is not None:
        return token.device_id
    if request.device_id is not None:
        if session.get(Device, request.device_id) is not None:
            raise AppError(
                409,
                "device_exists",
                f"Mã thiết bị {request.device_id} đã có; mã đăng ký này dành cho thiết bị mới.",
                f"Device {request.device_id} exists; this token enrols a new device only.",
            )
        return request.device_id
    base = f"{_slug(token.site_id)}-{_slug(camera_id)}"
    candidate, n = base, 1
    while session.get(Device, candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _location(site: Site, request: EnrolmentRequest) -> Location:
    if request.location is not None:
        return request.location
    if site.lat is None or site.lon is None:
        raise AppError(
            422,
            "location_required",
            f"Điểm {site.id} chưa có tọa độ: nhập --lat và --lon.",
            f"Site {site.id} has no position: pass --lat and --lon.",
        )
    return Location(lat=site.lat, lon=site.lon)


def _existing_device(session: Session, device_id: str, site_id: str) -> Device | None:
    device = session.get(Device, device_id)
    if device is not None and device.site_id not in (None, site_id):
        raise AppError(
            409,
            "device_other_site",
            f"Thiết bị {device_id} đang ở điểm {device.site_id}, không phải {site_id}.",
            f"Device {device_id} serves site {device.site_id}, not {site_id}.",
        )
    return device


@dataclass(frozen=True)
class _Registered:
    device_id: str
    camera_id: str
    location: Location
    key: DeviceKey


def _register(
    session: Session,
    token: EnrolmentToken,
    request: EnrolmentRequest,
    public_key: Ed25519PublicKey,
    now: datetime,
) -> _Registered:
    """The device (new, or the token's existing one) and its key, valid past what was seen."""
    site = session.get(Site, token.site_id)
    if site is None:  # the foreign key makes this a deleted-site race at most
        raise AppError(404, "site_not_found", "Không có điểm giao cắt.", "No such site.")
    location = _location(site, request)
    camera_id = token.camera_id or request.camera_id or "main"
    device_id = _choose_device_id(session, token, request, camera_id)
    existing = _existing_device(session, device_id, site.id)
    if existing is not None and not (token.camera_id or request.camera_id):
        camera_id = existing.camera_id or camera_id
    try:
        key = enrol_device(
            session,
            device_id=device_id,
            public_key=public_key,
            actor=ENROLMENT_ACTOR,
            site_id=site.id,
            camera_id=camera_id,
            valid_from_seq=next_free_seq(session, device_id),
        )
    except DeviceError as exc:
        raise AppError(409, "enrolment_refused", str(exc), str(exc)) from exc
    if existing is None:
        session.add(DeviceAssignment(device_id=device_id, site_id=site.id, valid_from=now))
    return _Registered(device_id, camera_id, location, key)


def enrol_with_token(
    session: Session,
    request: EnrolmentRequest,
    *,
    now: datetime,
    server_key: Ed25519PrivateKey,
    settings: Settings,
    enrolment: EnrolmentSettings,
    remote: str = "",
) -> EnrolmentResponse:
    """Claim the token, register the device and its key, issue its broker password."""
    public_key = _public_key_with_proof(request)
    token = claim_token(session, request.token, now=now)
    done = _register(session, token, request, public_key, now)
    token.used_by_device_id, token.used_key_id = done.device_id, done.key.key_id
    session.add(token)
    password = issue_broker_password(session, done.device_id, now=now)
    register_server_key(session, server_key)
    audit.append(
        session,
        actor=ENROLMENT_ACTOR,
        action="device.enrolled_with_token",
        entity_type="device",
        entity_id=done.device_id,
        after={
            "token_id": token.id,
            "token_created_by": token.created_by,
            "key_id": done.key.key_id,
            "valid_from_seq": done.key.valid_from_seq,
            "broker_username": done.device_id,
            "software_version": request.software_version,
            "remote": remote,
        },
    )
    logger.info("device %s enrolled at %s, key %s", done.device_id, token.site_id, done.key.key_id)
    return EnrolmentResponse(
        device_id=done.device_id,
        site_id=token.site_id,
        camera_id=done.camera_id,
        location=done.location,
        key_id=done.key.key_id,
        valid_from_seq=done.key.valid_from_seq,
        broker=broker_access(settings, enrolment, done.device_id, password),
        server_public_key_pem=public_key_pem(server_key),
        server_key_id=key_id(server_key),
        ntp_server=enrolment.device_ntp_server,
        enrolled_at=now,
    )
