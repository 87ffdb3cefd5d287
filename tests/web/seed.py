"""Seeded cases for UI tests: a violation as the ingest stores it, with real media in the store.

`seed_case(db, store, **overrides)` returns the new violation's id. The facts are a real signed
header's (built by tests.factories and dumped as the ingest does), the media parts real JPEGs
and an MP4 (tests.web.media) in the evidence store, the plate candidates the box's.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlmodel import Session

from central_server.evidence_store import EvidenceStore
from central_server.models import Device, EvidencePart, Packet, Site, Violation
from protocol.enums import BehaviourCode, MediaRole, PlateColour, VehicleClass
from protocol.evidence import EvidenceHeader
from protocol.ids import new_packet_id
from tests.factories import fixed_device_key, header_dict
from tests.factories_db import make_site
from tests.fixtures.db import Database
from tests.web.media import evidence_media

SITE_ID = "dh-le-loi"
SITE_NAME = "Ngã tư Lê Lợi – Trần Hưng Đạo"
WARD = "Phường Đồng Hới"
DEVICE_ID = "dh-cam-ui-01"
BASE_TIME = datetime(2026, 11, 20, 1, 30, 0, tzinfo=timezone.utc)  # 08:30 in Vietnam
_seq = itertools.count(1)


def ensure_site(session: Session, site_id: str = SITE_ID, **overrides: Any) -> Site:
    """The seeded site (created once) and its device `DEVICE_ID` for the default site."""
    site = session.get(Site, site_id)
    if site is None:
        fields: dict[str, Any] = {"id": site_id, "name": SITE_NAME, "ward": WARD}
        site = make_site(session, **(fields | overrides))
    device_id = DEVICE_ID if site_id == SITE_ID else f"{DEVICE_ID}-{site_id}"[:64]
    if session.get(Device, device_id) is None:
        session.add(Device(id=device_id, site_id=site_id, camera_id="north", enrolled_by="test"))
        session.flush()
    return site


def _facts(
    occurred_at: datetime,
    behaviour: BehaviourCode,
    site_id: str,
    device_id: str,
    vehicle: VehicleClass,
    experimental: bool,
    plate: str,
) -> dict[str, Any]:
    data = header_dict(evidence_media(plate), fixed_device_key())
    violation = data["violation"] | {
        "behaviour": behaviour.value,
        "experimental": experimental,
        "occurred_at": occurred_at,
        "vehicle_class": vehicle.value,
        "track": [
            {
                "t": occurred_at - timedelta(milliseconds=80),
                "frame_seq": 1001,
                "box": [420, 380, 680, 560],
                "score": 0.8,
            },
            {"t": occurred_at, "frame_seq": 1003, "box": [424, 372, 684, 552], "score": 0.8},
        ],
    }
    signal = violation["signal"] | {
        "red_onset_at": occurred_at - timedelta(seconds=2.4),
        "time_into_red_s": 2.4,
    }
    violation["signal"] = signal if behaviour is BehaviourCode.red_light else None
    if behaviour in (BehaviourCode.no_helmet, BehaviourCode.passenger_no_helmet):
        violation["helmet"] = {
            "riders": [
                {"position": "driver", "head_box": [500, 300, 540, 340], "helmet_score": 0.12}
            ]
        }
    data |= {
        "violation": violation,
        "site_id": site_id,
        "device_id": device_id,
        "created_at": occurred_at + timedelta(seconds=3),
        "seq": next(_seq),
        "packet_id": new_packet_id(),
    }
    header = EvidenceHeader.model_validate(data)
    return header.model_dump(mode="json", exclude={"parts", "plate_candidates"})


def _candidates(plate: str, compact: str) -> list[dict[str, Any]]:
    other = compact[:-1] + ("8" if compact[-1] != "8" else "3")
    return [
        {
            "text": compact,
            "printed": plate,
            "lines": 1,
            "colour": "white",
            "confidence": 0.91,
            "box": [500, 520, 600, 550],
            "reader_name": "edge-ocr",
            "reader_version": "0.1",
        },
        {
            "text": other,
            "printed": other,
            "lines": 1,
            "colour": "white",
            "confidence": 0.42,
            "box": [500, 520, 600, 550],
            "reader_name": "edge-ocr",
            "reader_version": "0.1",
        },
    ]


def _store_parts(store: EvidenceStore, packet_id: uuid.UUID, plate: str) -> list[EvidencePart]:
    parts = []
    for role, data in evidence_media(plate).items():
        digest = store.put(data)
        parts.append(
            EvidencePart(
                packet_id=packet_id, role=role, mime=role.mime, sha256=digest, size=len(data)
            )
        )
    return parts


def seed_case(
    db: Database,
    store: EvidenceStore,
    *,
    minutes: int = 0,
    behaviour: BehaviourCode = BehaviourCode.red_light,
    vehicle: VehicleClass = VehicleClass.car,
    plate: str = "73A-123.45",
    site_id: str = SITE_ID,
    experimental: bool | None = None,
    **overrides: Any,
) -> int:
    """Add a case waiting for review, `minutes` after BASE_TIME, with real media; its id."""
    occurred_at = BASE_TIME + timedelta(minutes=minutes)
    behaviour, vehicle = BehaviourCode(behaviour), VehicleClass(vehicle)
    experimental = (
        behaviour in (BehaviourCode.no_helmet, BehaviourCode.passenger_no_helmet)
        if experimental is None
        else experimental
    )
    compact = "".join(c for c in plate.upper() if c.isalnum())
    with db.session() as session:
        ensure_site(session, site_id)
        device_id = DEVICE_ID if site_id == SITE_ID else f"{DEVICE_ID}-{site_id}"[:64]
        facts = _facts(occurred_at, behaviour, site_id, device_id, vehicle, experimental, plate)
        packet_id = uuid.UUID(facts["packet_id"])
        session.add(
            Packet(
                packet_id=packet_id,
                device_id=device_id,
                seq=facts["seq"],
                sha256="0" * 64,
                size=1,
                key_id=facts["key_id"],
                blob_sha256="0" * 64,
                received_at=occurred_at + timedelta(seconds=5),
                created_at=occurred_at + timedelta(seconds=3),
            )
        )
        session.flush()
        fields: dict[str, Any] = {
            "packet_id": packet_id,
            "device_id": device_id,
            "site_id": site_id,
            "camera_id": "north",
            "behaviour": behaviour,
            "experimental": experimental,
            "rule_version": facts["violation"]["rule_version"],
            "vehicle_class": vehicle,
            "occurred_at": occurred_at,
            "detected_at": occurred_at + timedelta(seconds=5),
            "facts": facts,
            "plate_text": compact,
            "plate_printed": plate,
            "plate_colour": PlateColour.white,
            "plate_lines": 1,
            "plate_confidence": 0.91,
            "plate_candidates": _candidates(plate, compact),
        }
        violation = Violation(**(fields | overrides))
        parts = _store_parts(store, packet_id, plate)
        violation.plate_crop_sha256 = next(
            p.sha256 for p in parts if p.role is MediaRole.plate_crop
        )
        session.add(violation)
        session.add_all(parts)
        session.flush()
        return int(violation.id or 0)
