"""Factory functions for database rows: `make_device(session, **overrides)` and friends.

Each adds its row and flushes (so ids and foreign keys resolve) but never commits: the test's
session owns the transaction. Missing parents are created on the way.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from central_server.accounts.models import User
from central_server.models import (
    Device,
    DeviceKey,
    Packet,
    Site,
    Unit,
    UnitKind,
    Violation,
    ViolationStatus,
)
from protocol.enums import BehaviourCode, VehicleClass
from protocol.keys import generate_private_key, key_id, public_key_to_raw

_counter = itertools.count(1)


def _add(session: Session, row: Any) -> Any:
    session.add(row)
    session.flush()
    return row


def make_unit(session: Session, **overrides: Any) -> Unit:
    """Add a police unit (override `kind=UnitKind.detecting` for a detecting unit)."""
    n = next(_counter)
    fields: dict[str, Any] = {
        "name": f"Đội Cảnh sát giao thông số {n}",
        "kind": UnitKind.police,
        "address": f"{n} Đường Lê Duẩn, Quận 1, TP. Hồ Chí Minh",
        "phone": f"028 3829 {n:04d}",
    }
    unit: Unit = _add(session, Unit(**(fields | overrides)))
    return unit


def make_site(session: Session, **overrides: Any) -> Site:
    """Add a site, with a detecting and a handling unit unless given."""
    n = next(_counter)
    fields: dict[str, Any] = {
        "id": f"site-{n}",
        "name": f"Ngã tư Điện Biên Phủ – Hai Bà Trưng ({n})",
        "ward": "Phường Đa Kao",
        "province": "TP. Hồ Chí Minh",
        "lat": 10.7893,
        "lon": 106.6958,
    }
    if "detecting_unit_id" not in overrides:
        fields["detecting_unit_id"] = make_unit(session, kind=UnitKind.detecting).id
    if "handling_unit_id" not in overrides:
        fields["handling_unit_id"] = make_unit(session).id
    site: Site = _add(session, Site(**(fields | overrides)))
    return site


def make_device(session: Session, **overrides: Any) -> Device:
    """Add an enrolled device serving a new site unless `site_id` is given."""
    n = next(_counter)
    fields: dict[str, Any] = {"id": f"dev-{n:04d}", "camera_id": "cam-1", "enrolled_by": "test"}
    if "site_id" not in overrides:
        fields["site_id"] = make_site(session).id
    device: Device = _add(session, Device(**(fields | overrides)))
    return device


def make_device_key(
    session: Session, *, private_key: Ed25519PrivateKey | None = None, **overrides: Any
) -> DeviceKey:
    """Add a device key for `private_key` (a new one if not given) on a new device unless given.

    Pass your own `private_key` to sign packets with it afterwards.
    """
    key = private_key or generate_private_key()
    fields: dict[str, Any] = {
        "key_id": key_id(key),
        "public_key": public_key_to_raw(key.public_key()),
        "valid_from_seq": 0,
    }
    if "device_id" not in overrides:
        fields["device_id"] = make_device(session).id
    device_key: DeviceKey = _add(session, DeviceKey(**(fields | overrides)))
    return device_key


def make_packet(session: Session, **overrides: Any) -> Packet:
    """Add a stored packet row (no bytes in any evidence store) for a new device unless given."""
    n = next(_counter)
    digest = hashlib.sha256(f"packet-{n}".encode()).hexdigest()
    fields: dict[str, Any] = {
        "packet_id": uuid.uuid4(),
        "seq": n,
        "sha256": digest,
        "size": 1024,
        "key_id": "0" * 16,
        "blob_sha256": digest,
        "created_at": datetime.now(timezone.utc) - timedelta(seconds=2),
    }
    if "device_id" not in overrides:
        fields["device_id"] = make_device(session).id
    packet: Packet = _add(session, Packet(**(fields | overrides)))
    return packet


def make_violation(session: Session, **overrides: Any) -> Violation:
    """Add a red-light violation awaiting review, on a new packet unless `packet_id` is given."""
    if "packet_id" in overrides:
        packet = session.get(Packet, overrides["packet_id"])
        assert packet is not None, "make_violation: unknown packet_id"
    else:
        device_override = {"device_id": overrides["device_id"]} if "device_id" in overrides else {}
        packet = make_packet(session, **device_override)
    device = session.get(Device, packet.device_id)
    assert device is not None
    now = datetime.now(timezone.utc)
    fields: dict[str, Any] = {
        "packet_id": packet.packet_id,
        "device_id": packet.device_id,
        "site_id": device.site_id,
        "camera_id": device.camera_id,
        "behaviour": BehaviourCode.red_light,
        "vehicle_class": VehicleClass.car,
        "rule_version": "1",
        "occurred_at": now - timedelta(seconds=5),
        "detected_at": now,
        "facts": {"signal_phase": "red", "time_into_red_s": 2.4},
        "plate_text": "51F12345",
        "plate_printed": "51F-123.45",
    }
    violation: Violation = _add(session, Violation(**(fields | overrides)))
    return violation


def make_user(session: Session, *, roles: Iterable[Any] = (), **overrides: Any) -> User:
    """Add an active staff user holding `roles` (Role members or their values); no password set.

    The password hash is a placeholder no password matches: log in through the accounts
    service's own helpers where a test needs a real login.
    """
    n = next(_counter)
    fields: dict[str, Any] = {
        "username": f"user{n}",
        "full_name": f"Cán bộ số {n}",
        "password_hash": "!unusable",
        "roles": [getattr(role, "value", role) for role in roles],
        "scopes": [],
        "created_by": "test",
    }
    user: User = _add(session, User(**(fields | overrides)))
    return user


def make_violation_in_state(
    session: Session,
    status: Any,
    *,
    approved_by: int | None = None,
    claimed_by: int | None = None,
    **overrides: Any,
) -> Violation:
    """Add a violation already in `status` (set directly, as a fixture: no transition, no audit).

    `approved_by` / `claimed_by` are user ids recorded as the approver and the verifying
    officer; states past approval get an approver and states past verification a claimant
    only when given.
    """
    now = datetime.now(timezone.utc)
    fields: dict[str, Any] = {"status": ViolationStatus(status)}
    if approved_by is not None:
        fields |= {"approved_by_user_id": approved_by, "approved_at": now}
    if claimed_by is not None:
        fields |= {"claimed_by_user_id": claimed_by, "claimed_at": now}
    return make_violation(session, **(fields | overrides))
