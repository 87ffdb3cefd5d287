"""The rows an accepted packet becomes: packet, violation, evidence parts, device bookkeeping."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, literal, or_, update
from sqlmodel import Session, col

from central_server import audit
from central_server.evidence_store import EvidenceStore
from central_server.ingest.schemas import INGEST_ACTOR, device_actor
from central_server.ingest.verify import Accepted
from central_server.models import Device, EvidencePart, Packet, Site, Violation
from protocol.enums import MediaRole
from protocol.evidence import EvidenceHeader

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClockCheck:
    """How far the capture time is from the server's receipt, and whether to flag it."""

    skew_s: float  # capture time minus receipt: negative for a packet that waited in an outbox
    skew_flagged: bool
    clock_flagged: bool


def check_clock(header: EvidenceHeader, received_at: datetime, max_skew_s: float) -> ClockCheck:
    """Flag a capture time in the future, or far off while the box says its clock is unsynced."""
    skew = (header.violation.occurred_at - received_at).total_seconds()
    # A late packet is normal (outbox backlog after an outage); a future one means a wrong clock.
    # Far in the past is only suspicious when the box itself says its clock was not synced.
    flagged = (
        skew > max_skew_s
        or (abs(skew) > max_skew_s and not header.clock.synced)
        or abs(header.clock.offset_ms) / 1000 > max_skew_s
    )
    return ClockCheck(skew, flagged, flagged or not header.clock.synced)


def write_media(store: EvidenceStore, accepted: Accepted, data: bytes) -> None:
    """Store every present part and the signed packet itself (before the database commit)."""
    packet = accepted.packet
    for descriptor, part in zip(packet.header.parts, packet.parts, strict=True):
        # An object already stored was fsync'd when written: skip hashing its bytes again
        # (the part was verified against the signed header by `judge`).
        if part is not None and not store.exists(descriptor.sha256):
            store.put_verified(part, descriptor.sha256)
    store.put_verified(data, accepted.sha256)


def add_packet_rows(
    session: Session, accepted: Accepted, *, received_at: datetime, clock: ClockCheck
) -> Violation:
    """Add the packet, its violation and parts, and update the device; returns the violation."""
    header = accepted.packet.header
    session.add(
        Packet(
            packet_id=header.packet_id,
            device_id=header.device_id,
            seq=header.seq,
            sha256=accepted.sha256,
            size=accepted.packet.size,
            key_id=header.key_id,
            blob_sha256=accepted.sha256,
            received_at=received_at,
            created_at=header.created_at,
            clock_skew_s=clock.skew_s,
            skew_flagged=clock.skew_flagged,
        )
    )
    # First write of the transaction: a concurrent worker storing the same packet (or sequence)
    # fails here, on the unique keys, before anything else is done.
    session.flush()
    violation = _violation(session, accepted, received_at, clock)
    session.add(violation)
    session.add_all(_part_rows(accepted))
    _touch_device(session, header.device_id, header.seq, received_at)
    session.flush()
    return violation


def _part_rows(accepted: Accepted) -> list[EvidencePart]:
    header = accepted.packet.header
    dropped = set(accepted.packet.dropped)
    return [
        EvidencePart(
            packet_id=header.packet_id,
            role=part.role,
            mime=part.mime,
            sha256=part.sha256,
            size=part.size,
            dropped=part.role in dropped,  # the signed hash is kept; the bytes never came
            width=part.width,
            height=part.height,
        )
        for part in header.parts
    ]


def _violation(
    session: Session, accepted: Accepted, received_at: datetime, clock: ClockCheck
) -> Violation:
    header = accepted.packet.header
    facts = header.violation
    plate = _plate_fields(header, accepted.packet.dropped)
    return Violation(
        packet_id=header.packet_id,
        device_id=header.device_id,
        site_id=_site_id(session, header, accepted.device_site_id),
        camera_id=header.camera_id,
        behaviour=facts.behaviour,
        experimental=facts.experimental,
        rule_version=facts.rule_version[:32],
        vehicle_class=facts.vehicle_class,
        occurred_at=facts.occurred_at,
        detected_at=received_at,
        # Every signed fact but the media list (in evidence_part) and the plates (columns below).
        facts=header.model_dump(mode="json", exclude={"parts", "plate_candidates"}),
        clock_flagged=clock.clock_flagged,
        **plate,
    )


def _plate_fields(header: EvidenceHeader, dropped: tuple[MediaRole, ...]) -> dict[str, Any]:
    crop = header.part(MediaRole.plate_crop)
    fields: dict[str, Any] = {
        "plate_crop_sha256": crop.sha256 if crop and crop.role not in dropped else None
    }
    if not header.plate_candidates:
        return fields
    # The edge's best reading is a starting point for review; the server's reader runs later
    # (plate_read_at stays empty until it has).
    best = max(header.plate_candidates, key=lambda c: c.confidence)
    return fields | {
        "plate_text": best.text,
        "plate_printed": best.printed[:32],
        "plate_colour": best.colour,
        "plate_lines": best.lines,
        "plate_confidence": best.confidence,
        "plate_candidates": [c.model_dump(mode="json") for c in header.plate_candidates],
    }


def _site_id(session: Session, header: EvidenceHeader, device_site_id: str | None) -> str:
    """The signed site if registered, else the device's; a site never seen is created."""
    if session.get(Site, header.site_id) is not None:
        return header.site_id
    if device_site_id is not None:
        logger.warning(
            "packet %s names unregistered site %s; filed under device %s's site %s",
            header.packet_id,
            header.site_id,
            header.device_id,
            device_site_id,
        )
        return device_site_id
    # Evidence is never dropped for missing master data: register the site by its id so an
    # administrator can complete it.
    logger.warning("registering site %s, named by packet %s", header.site_id, header.packet_id)
    location = header.location
    session.add(Site(id=header.site_id, name=header.site_id, lat=location.lat, lon=location.lon))
    session.flush()
    audit.append(
        session,
        actor=INGEST_ACTOR,
        action="site.registered",
        entity_type="site",
        entity_id=header.site_id,
        after={"id": header.site_id, "from_packet": str(header.packet_id)},
    )
    return header.site_id


def audit_ingested(
    session: Session, accepted: Accepted, violation: Violation, clock: ClockCheck
) -> None:
    """Append the `violation.ingested` audit event, with the device as the actor."""
    header = accepted.packet.header
    audit.append(
        session,
        actor=device_actor(header.device_id),
        action="violation.ingested",
        entity_type="violation",
        entity_id=violation.id or 0,
        after={
            "packet_id": str(header.packet_id),
            "sha256": accepted.sha256,
            "seq": header.seq,
            "behaviour": header.violation.behaviour.value,
            "site_id": violation.site_id,
            "dropped": [role.value for role in accepted.packet.dropped],
            "skew_flagged": clock.skew_flagged,
            "clock_flagged": clock.clock_flagged,
        },
    )


def _touch_device(session: Session, device_id: str, seq: int, received_at: datetime) -> None:
    # One UPDATE computing the maximum in SQL: two workers storing packets of the same device
    # at once must not overwrite each other's newer value with an older read.
    def newest(column: Any, value: Any) -> Any:
        bound = literal(value, column.type)  # bound as the column binds (UTC on SQLite)
        return case((or_(column.is_(None), column < bound), bound), else_=column)

    session.execute(
        update(Device)
        .where(col(Device.id) == device_id)
        .values(
            last_seq=newest(col(Device.last_seq), seq),
            last_seen_at=newest(col(Device.last_seen_at), received_at),
        )
    )
