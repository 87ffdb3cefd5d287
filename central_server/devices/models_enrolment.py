"""Tables of device enrolment: one-time enrolment tokens and each device's broker credentials."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from central_server.models import SHA256_HEX_LEN, UtcDateTime, utcnow


class EnrolmentToken(SQLModel, table=True):
    """A one-time token an admin gives a technician; only its sha256 is kept.

    Claimed atomically (`used_at` set by a conditional UPDATE), so two boxes presenting the same
    token at once never both enrol.
    """

    __tablename__ = "enrolment_token"
    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(max_length=SHA256_HEX_LEN, unique=True)
    shown_prefix: str = Field(max_length=16)  # "TWE-ABCDE": tells tokens apart in lists
    site_id: str = Field(foreign_key="site.id", index=True, max_length=64)
    # The device id the box will get (re-enrolling an existing device); None: the box proposes
    # one or the server makes one from the site id.
    device_id: str | None = Field(default=None, max_length=64)
    camera_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    created_by: str = Field(max_length=128)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    used_by_device_id: str | None = Field(default=None, max_length=64)
    used_key_id: str | None = Field(default=None, max_length=16)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class DeviceBrokerCredential(SQLModel, table=True):
    """A device's MQTT login: the user name is the device id; the password is never stored.

    `password_hash` is exactly what a Mosquitto 2 password file holds after `username:`:
    `$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512>` (see `enrolment.mosquitto_hash`), so
    `broker-acl` writes the file as `f"{username}:{password_hash}"` lines. EMQX's built-in
    database takes the same PBKDF2-SHA512 parameters (salt, iterations, hash) separately.
    """

    __tablename__ = "device_broker_credential"
    device_id: str = Field(primary_key=True, foreign_key="device.id", max_length=64)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
