"""Police records: references entered by the police, in the right state, audited."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import col, select

from central_server.errors import AppError
from central_server.models import AuditEvent, ViolationStatus
from central_server.workflow.models import NoticeChannel, PoliceRecordKind
from central_server.workflow.police import add_police_record, list_police_records
from central_server.workflow.service import Action
from tests.central_server.workflow.conftest import Staff, act, drive, notice, today
from tests.factories_db import make_violation
from tests.fixtures.db import Database

S = ViolationStatus


def _case_in(db: Database, staff: Staff, status: ViolationStatus) -> int:
    with db.session() as session:
        violation_id = make_violation(session).id
    assert violation_id is not None
    drive(db, staff, violation_id, status)
    return violation_id


def _record(
    db: Database, staff: Staff, violation_id: int, kind: PoliceRecordKind, **data: object
) -> None:
    with db.session() as session:
        add_police_record(
            session, violation_id=violation_id, kind=kind, data=data, actor=staff.officer
        )


def test_the_whole_file_of_a_case_is_kept_in_order(db: Database, staff: Staff) -> None:
    violation_id = _case_in(db, staff, S.confirmed)
    _record(
        db,
        staff,
        violation_id,
        PoliceRecordKind.owner_identified,
        reference="CSDL-ĐKX 123",
        date=today(),
    )
    act(db, violation_id, Action.notify, staff.officer, data=notice() | {"channel": "paper"})
    _record(
        db, staff, violation_id, PoliceRecordKind.escalation, reference="CV 77/CSGT", date=today()
    )
    with db.session() as session:
        records = list_police_records(session, violation_id)
        audited = session.exec(
            select(col(AuditEvent.action)).where(col(AuditEvent.action).like("police_record.%"))
        ).all()
    assert [r.kind for r in records] == [
        PoliceRecordKind.owner_identified,
        PoliceRecordKind.notice,
        PoliceRecordKind.escalation,
    ]
    assert records[1].channel is NoticeChannel.paper and records[1].reference == "123/TB-CSGT"
    assert all(r.recorded_by == f"user:{staff.officer.user_id}" for r in records)
    assert audited == ["police_record.owner_identified", "police_record.escalation"]


def test_records_need_the_right_state_role_and_data(db: Database, staff: Staff) -> None:
    violation_id = _case_in(db, staff, S.approved)
    with pytest.raises(AppError) as caught:
        _record(db, staff, violation_id, PoliceRecordKind.escalation, date=today())
    assert caught.value.status_code == 409
    with pytest.raises(AppError) as caught, db.session() as session:
        add_police_record(
            session,
            violation_id=violation_id,
            kind=PoliceRecordKind.owner_identified,
            data={"reference": "x", "date": today()},
            actor=staff.operator,
        )
    assert caught.value.status_code == 403
    drive(db, staff, violation_id, S.confirmed)
    with pytest.raises(AppError) as caught:
        _record(db, staff, violation_id, PoliceRecordKind.notice, date=today())
    assert caught.value.code == "record_needs_transition"
    with pytest.raises(AppError) as caught:
        _record(
            db,
            staff,
            violation_id,
            PoliceRecordKind.transfer,
            number="03",
            date=today(),
            unit_id=9999,
        )
    assert caught.value.code == "unknown_unit"
    with pytest.raises(AppError) as caught:
        _record(
            db,
            staff,
            violation_id,
            PoliceRecordKind.owner_identified,
            reference="r",
            date=str(date(2020, 1, 1)),
        )
    assert caught.value.code == "invalid_date"
    with pytest.raises(AppError) as caught:
        _record(
            db,
            staff,
            violation_id,
            PoliceRecordKind.owner_identified,
            reference="r",
            date=today(),
            ssn="0123",
        )
    assert caught.value.status_code == 422 and "ssn" in caught.value.detail["fields"]
