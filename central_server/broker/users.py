"""Who may log in to the broker: every enrolled box still in service, plus `ingest` and `control`.

Boxes come from the device registry joined with the broker credential that enrolment issued
(`DeviceBrokerCredential.password_hash`, already a Mosquitto `$7$` hash: no password is ever
stored). A box is left out when the device is revoked or none of its keys is still valid. The
service users' passwords are the server's own settings; their hashes are kept from the previous
run while the password is unchanged, so regenerating the files changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session, col, select

from central_server.broker.acl import CONTROL_USER, INGEST_USER, BrokerUser, UserRole
from central_server.broker.passwords import (
    MIN_SERVICE_PASSWORD,
    PasswordHash,
    PasswordHashError,
    keep_or_hash,
)
from central_server.devices.models_enrolment import DeviceBrokerCredential
from central_server.models import Device, DeviceKey

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceLogin:
    """A server process's broker login (the password in the clear: the server owns it)."""

    username: str
    password: str
    role: UserRole


class BrokerUserError(ValueError):
    """A login that cannot be written (a missing or weak service password)."""


def device_users(session: Session) -> list[BrokerUser]:
    """Every box in service with a broker credential, by device id."""
    valid_key = (
        select(DeviceKey.device_id)
        .where(col(DeviceKey.revoked_at).is_(None))
        .where(col(DeviceKey.device_id) == col(Device.id))
        .exists()
    )
    statement = (
        select(Device.id, DeviceBrokerCredential.password_hash)
        .join(DeviceBrokerCredential, col(DeviceBrokerCredential.device_id) == col(Device.id))
        .where(col(Device.revoked_at).is_(None), valid_key)
        .order_by(col(Device.id))
    )
    users = []
    for device_id, stored in session.exec(statement).all():
        try:
            PasswordHash.parse(stored)
        except PasswordHashError as exc:
            logger.error("broker credential of %s unusable, left out: %s", device_id, exc)
            continue
        users.append(BrokerUser(device_id, UserRole.device, stored))
    return users


def service_users(
    logins: list[ServiceLogin], previous: dict[str, PasswordHash] | None = None
) -> list[BrokerUser]:
    """The service users, hashed (reusing `previous` hashes whose password did not change)."""
    previous = previous or {}
    users = []
    for login in logins:
        if len(login.password) < MIN_SERVICE_PASSWORD:
            raise BrokerUserError(
                f"mật khẩu của {login.username!r} quá ngắn / the broker password of "
                f"{login.username!r} must be at least {MIN_SERVICE_PASSWORD} characters"
            )
        hashed = keep_or_hash(login.password, previous.get(login.username))
        users.append(BrokerUser(login.username, login.role, hashed.mosquitto()))
    return users


def default_logins(
    ingest: tuple[str | None, str | None], control: tuple[str | None, str | None]
) -> list[ServiceLogin]:
    """The ingest and control logins from (username, password) pairs; both are required."""
    logins = []
    for (name, password), default, role, env in (
        (ingest, INGEST_USER, UserRole.ingest, "TW_MQTT_PASSWORD"),
        (control, CONTROL_USER, UserRole.control, "TW_CONTROL_MQTT_PASSWORD"),
    ):
        if not password:
            raise BrokerUserError(
                f"thiếu mật khẩu MQTT của {name or default} / no broker password for "
                f"{name or default}: set {env}"
            )
        logins.append(ServiceLogin(name or default, password, role))
    return logins
