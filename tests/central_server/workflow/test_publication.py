"""published_violation: filled and emptied by transition(), holding only the public fields."""

from __future__ import annotations

from sqlalchemy import inspect

from central_server.models import Unit, UnitKind, ViolationStatus
from central_server.workflow.models import PoliceRecordKind, PublishedViolation
from central_server.workflow.police import add_police_record
from central_server.workflow.publication import compact_plate
from central_server.workflow.service import Action
from tests.central_server.workflow.conftest import Staff, act, drive, payment, today
from tests.factories_db import make_device, make_site, make_unit, make_violation
from tests.fixtures.db import Database

S = ViolationStatus

# vn_traffic.md §4: plate, plate colour, vehicle type, time, place, behaviour with its legal
# reference, status, detecting unit, handling unit with address and phone; nothing else.
PUBLIC_COLUMNS = {
    "violation_id",
    "plate",
    "plate_printed",
    "plate_colour",
    "plate_colour_vi",
    "vehicle_class",
    "vehicle_type_vi",
    "occurred_at",
    "place",
    "behaviour",
    "behaviour_vi",
    "legal_ref",
    "status_vi",
    "penalized",
    "detecting_unit",
    "handling_unit",
    "handling_unit_address",
    "handling_unit_phone",
    "published_at",
    "updated_at",
}


def _published(db: Database, violation_id: int) -> PublishedViolation | None:
    with db.session() as session:
        return session.get(PublishedViolation, violation_id)


def test_the_public_table_holds_only_the_lookup_fields(db: Database) -> None:
    columns = {c["name"] for c in inspect(db.engine).get_columns("published_violation")}
    assert columns == PUBLIC_COLUMNS


def test_a_case_is_published_once_confirmed_and_shows_when_penalized(
    db: Database, staff: Staff
) -> None:
    with db.session() as session:
        detecting = make_unit(session, kind=UnitKind.detecting, name="Trung tâm Giám sát")
        handling = make_unit(session, name="Phòng CSGT Quảng Trị", phone="0233 3822 000")
        site = make_site(
            session,
            name="Ngã tư Lý Thường Kiệt – Trần Hưng Đạo",
            ward="Phường Đồng Hới",
            province="Quảng Trị",
            detecting_unit_id=detecting.id,
            handling_unit_id=handling.id,
        )
        device = make_device(session, site_id=site.id)
        violation_id = make_violation(
            session, device_id=device.id, plate_text="73A12345", plate_printed="73A-123.45"
        ).id
    assert violation_id is not None
    for status in (S.approved, S.verifying):
        drive(db, staff, violation_id, status)
        assert _published(db, violation_id) is None
    drive(db, staff, violation_id, S.confirmed)
    row = _published(db, violation_id)
    assert row is not None
    assert (row.plate, row.status_vi, row.penalized) == ("73A12345", "Chưa xử phạt", False)
    assert row.place == "Ngã tư Lý Thường Kiệt – Trần Hưng Đạo, Phường Đồng Hới, Quảng Trị"
    assert (row.vehicle_type_vi, row.legal_ref) == ("Ô tô", "168/2024 6.9.b")
    assert row.behaviour_vi == "Không chấp hành hiệu lệnh của đèn tín hiệu giao thông"
    assert (row.detecting_unit, row.handling_unit) == ("Trung tâm Giám sát", "Phòng CSGT Quảng Trị")
    assert row.handling_unit_phone == "0233 3822 000"
    drive(db, staff, violation_id, S.notified)
    assert (_published(db, violation_id) or row).status_vi == "Chưa xử phạt"
    drive(db, staff, violation_id, S.penalized)
    penalized = _published(db, violation_id)
    assert penalized is not None and (penalized.status_vi, penalized.penalized) == (
        "Đã xử phạt",
        True,
    )
    act(db, violation_id, Action.pay, staff.officer, data=payment())
    assert (_published(db, violation_id) or row).status_vi == "Đã xử phạt"


def test_closing_after_a_penalty_stays_published(db: Database, staff: Staff) -> None:
    with db.session() as session:
        violation_id = make_violation(session).id
    assert violation_id is not None
    drive(db, staff, violation_id, S.penalized)
    act(db, violation_id, Action.close, staff.lead)
    row = _published(db, violation_id)
    assert row is not None and row.status_vi == "Đã xử phạt"


def test_a_dismissed_or_expired_case_is_not_public(db: Database, staff: Staff) -> None:
    with db.session() as session:
        violation_id = make_violation(session).id
    assert violation_id is not None
    drive(db, staff, violation_id, S.verifying)
    act(db, violation_id, Action.dismiss, staff.officer, reason_code="amber_grace")
    assert _published(db, violation_id) is None


def test_a_transfer_changes_where_citizens_are_told_to_go(db: Database, staff: Staff) -> None:
    with db.session() as session:
        violation_id = make_violation(session).id
        ward_police = make_unit(session, name="Công an phường Đồng Sơn", address="12 Hữu Nghị")
    assert violation_id is not None and ward_police.id is not None
    drive(db, staff, violation_id, S.confirmed)
    with db.session() as session:
        add_police_record(
            session,
            violation_id=violation_id,
            kind=PoliceRecordKind.transfer,
            data={"number": "03/CV", "date": today(), "unit_id": ward_police.id},
            actor=staff.officer,
        )
        assert session.get(Unit, ward_police.id) is not None
    row = _published(db, violation_id)
    assert row is not None
    assert (row.handling_unit, row.handling_unit_address) == (
        "Công an phường Đồng Sơn",
        "12 Hữu Nghị",
    )


def test_plates_are_compared_compact() -> None:
    assert compact_plate("73a-123.45") == "73A12345"
    assert compact_plate("29MĐ1 013.53") == "29MĐ101353"
