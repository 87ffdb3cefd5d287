"""The `published_violation` table: what citizens may see of verified cases, kept by transition().

It holds only the fields of the national lookup (vn_traffic.md §4), copied when a case enters a
published state and deleted when it leaves them, so the public search never touches `violation`.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlmodel import Session, col, select

from central_server.catalogue.service import behaviour_label_vi
from central_server.models import Site, Unit, Violation
from central_server.workflow.models import PoliceRecord, PoliceRecordKind, PublishedViolation
from central_server.workflow.states import PENALIZED, PUBLISHED_STATUS
from protocol.enums import PlateColour, VehicleClass

logger = logging.getLogger(__name__)

VEHICLE_TYPES_VI: dict[VehicleClass, str] = {
    VehicleClass.car: "Ô tô",
    VehicleClass.bus: "Ô tô",
    VehicleClass.truck: "Ô tô",
    VehicleClass.motorbike: "Xe máy",
    VehicleClass.bicycle: "Xe đạp, xe đạp điện",
    VehicleClass.other: "Phương tiện khác",
}
PLATE_COLOURS_VI: dict[PlateColour, str] = {
    PlateColour.white: "Nền trắng, chữ đen",
    PlateColour.yellow: "Nền vàng, chữ đen",
    PlateColour.blue: "Nền xanh, chữ trắng",
    PlateColour.red: "Nền đỏ, chữ trắng",
}
_NOT_PLATE = re.compile(r"[^0-9A-ZĐ]")


def compact_plate(text: str) -> str:
    """A plate as the public search compares it: upper case, letters and digits only."""
    return _NOT_PLATE.sub("", text.upper())


def _handling_unit(session: Session, violation: Violation, site: Site | None) -> Unit | None:
    # A case transferred (form 03) is handled where it went.
    transfer = session.exec(
        select(PoliceRecord)
        .where(col(PoliceRecord.violation_id) == violation.id)
        .where(col(PoliceRecord.kind) == PoliceRecordKind.transfer)
        .order_by(col(PoliceRecord.id).desc())
    ).first()
    unit_id = transfer.unit_id if transfer is not None else (site and site.handling_unit_id)
    return None if unit_id is None else session.get(Unit, unit_id)


def _place(site: Site | None) -> str:
    if site is None:
        return ""
    return ", ".join(part for part in (site.name, site.ward, site.province) if part)


def _fill(session: Session, row: PublishedViolation, violation: Violation, status: str) -> None:
    site = session.get(Site, violation.site_id)
    detecting_id = site.detecting_unit_id if site is not None else None
    detecting_unit = session.get(Unit, detecting_id) if detecting_id is not None else None
    handling = _handling_unit(session, violation, site)
    row.plate = compact_plate(violation.plate_text or "")
    row.plate_printed = violation.plate_printed or ""
    colour = violation.plate_colour
    row.plate_colour = colour.value if colour is not None else ""
    row.plate_colour_vi = PLATE_COLOURS_VI[colour] if colour is not None else ""
    row.vehicle_class = violation.vehicle_class.value
    row.vehicle_type_vi = VEHICLE_TYPES_VI[violation.vehicle_class]
    row.occurred_at = violation.occurred_at
    row.place = _place(site)
    row.behaviour = violation.behaviour.value
    row.behaviour_vi = behaviour_label_vi(violation.behaviour)
    row.legal_ref = violation.legal_ref or ""
    row.status_vi = status
    row.penalized = status == PENALIZED
    row.detecting_unit = detecting_unit.name if detecting_unit else ""
    row.handling_unit = handling.name if handling else ""
    row.handling_unit_address = handling.address if handling else ""
    row.handling_unit_phone = handling.phone if handling else ""


def sync_publication(session: Session, violation: Violation, now: datetime) -> None:
    """Publish, update or withdraw the case's public row to match its status (no commit)."""
    status = PUBLISHED_STATUS.get(violation.status)
    existing = session.get(PublishedViolation, violation.id)
    if status is None or not violation.plate_text:
        if existing is not None:
            session.delete(existing)
            logger.info("violation %s withdrawn from publication", violation.id)
        return
    row = existing or PublishedViolation(
        violation_id=violation.id or 0,
        plate="",
        vehicle_class="",
        vehicle_type_vi="",
        occurred_at=violation.occurred_at,
        place="",
        behaviour="",
        behaviour_vi="",
        status_vi=status,
        published_at=now,
    )
    _fill(session, row, violation, status)
    row.updated_at = now
    session.add(row)
