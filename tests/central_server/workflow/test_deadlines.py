"""Deadlines as data: versioned rules, the holiday calendar (Tết), due dates and overdue flags."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from central_server.errors import AppError
from central_server.models import Violation, ViolationStatus
from central_server.workflow import deadlines
from central_server.workflow.calendar import (
    delete_holiday,
    list_holidays,
    save_deadline_rule,
    save_holiday,
)
from central_server.workflow.deadlines import VN_TZ, DeadlineBook, HolidayCalendar, Rule
from central_server.workflow.models import DeadlineKind, DeadlineUnit, PoliceRecordKind
from central_server.workflow.police import add_police_record
from central_server.workflow.service import Action, due_dates
from tests.central_server.workflow.conftest import Staff, act, drive, notice
from tests.factories_db import make_violation
from tests.fixtures.db import Database

S = ViolationStatus


def _local(y: int, m: int, d: int, hour: int = 9) -> datetime:
    return datetime(y, m, d, hour, tzinfo=VN_TZ)


def _end_of(y: int, m: int, d: int) -> datetime:
    return deadlines.end_of_local_day(date(y, m, d))


def _calendar(db: Database) -> HolidayCalendar:
    with db.session() as session:
        return deadlines.load_calendar(session)


def test_working_days_skip_weekends_and_tet(db: Database) -> None:
    calendar = _calendar(db)
    # Identified on Friday 13 Feb 2026: Tết Bính Ngọ is 16-20 Feb, so five working days end on
    # Friday 27 Feb.
    assert calendar.add_working_days(date(2026, 2, 13), 5) == date(2026, 2, 27)
    assert not calendar.is_working_day(date(2026, 2, 17))
    # Saturday 26 April 2025 was worked in exchange for Friday 2 May.
    assert calendar.is_working_day(date(2025, 4, 26))
    assert not calendar.is_working_day(date(2025, 5, 2))


def test_the_seeded_calendar_covers_2025_to_2027_with_tet(db: Database) -> None:
    with db.session() as session:
        for year, tet_day in (
            (2025, date(2025, 1, 29)),
            (2026, date(2026, 2, 17)),
            (2027, date(2027, 2, 8)),
        ):
            days = {h.day: h for h in list_holidays(session, year=year)}
            assert date(year, 1, 1) in days and date(year, 9, 2) in days
            assert days[tet_day].name_vi.startswith("Tết Nguyên đán")


def test_the_record_deadline_follows_the_law_in_force_on_the_violation_date(db: Database) -> None:
    with db.session() as session:
        book = deadlines.load_book(session)
    before = book.rule(DeadlineKind.record, date(2026, 3, 31))
    after = book.rule(DeadlineKind.record, date(2026, 4, 1))
    assert (before.amount, before.unit) == (3, DeadlineUnit.working_days)  # Decree 135/2021
    assert (after.amount, after.unit) == (5, DeadlineUnit.working_days)  # Decree 61/2026
    # A violation older than every rule is judged by the earliest.
    assert book.rule(DeadlineKind.notice, date(2020, 1, 1)).amount == 10


def test_a_rule_of_a_kind_that_was_never_seeded_is_an_error() -> None:
    with pytest.raises(LookupError):
        DeadlineBook([]).rule(DeadlineKind.notice, date(2026, 1, 1))


def test_a_new_violation_gets_its_notice_due_date_and_expiry(db: Database) -> None:
    with db.session() as session:
        violation = make_violation(session, occurred_at=_local(2026, 3, 5, 23))
    # Late on 5 March in Vietnam (16:00 UTC): ten days from the local date.
    assert violation.notice_due_at == _end_of(2026, 3, 15)
    assert violation.expires_at == _local(2027, 3, 5, 23)


def test_a_leap_day_violation_expires_on_28_february() -> None:
    book = DeadlineBook(
        [
            Rule(DeadlineKind.notice, date(2020, 1, 1), 10, DeadlineUnit.days),
            Rule(DeadlineKind.expiry, date(2020, 1, 1), 1, DeadlineUnit.years),
        ]
    )
    _, expires = deadlines.initial_due_dates(book, _local(2028, 2, 29), HolidayCalendar())
    assert expires == _local(2029, 2, 28)


def test_notice_and_identification_set_the_escalation_and_record_due_dates(
    db: Database, staff: Staff
) -> None:
    with db.session() as session:
        violation_id = make_violation(session).id
    assert violation_id is not None
    drive(db, staff, violation_id, S.confirmed)
    today = deadlines.local_date(datetime.now(timezone.utc))
    with db.session() as session:
        add_police_record(
            session,
            violation_id=violation_id,
            kind=PoliceRecordKind.owner_identified,
            data={"reference": "ĐKX-73A12345", "date": today.isoformat()},
            actor=staff.officer,
        )
    notified = act(db, violation_id, Action.notify, staff.officer, data=notice())
    assert notified.escalation_due_at == deadlines.end_of_local_day(today + timedelta(days=20))
    record_due = _calendar(db).add_working_days(today, 5)
    assert notified.record_due_at == deadlines.end_of_local_day(record_due)


def test_overdue_is_what_is_past_due_and_still_waiting(db: Database, staff: Staff) -> None:
    with db.session() as session:
        violation_id = make_violation(session).id
    assert violation_id is not None
    approved = act(db, violation_id, Action.approve, staff.operator)
    assert approved.notice_due_at is not None
    late = approved.notice_due_at + timedelta(seconds=1)
    assert due_dates(approved, now=late).overdue == {"notice"}
    assert due_dates(approved, now=approved.notice_due_at).overdue == frozenset()
    drive(db, staff, violation_id, S.notified)
    with db.session() as session:
        notified = session.get(Violation, violation_id)
    assert notified is not None and notified.escalation_due_at is not None
    # The notice went out: that deadline no longer binds; the escalation one does.
    assert due_dates(notified, now=notified.escalation_due_at + timedelta(days=1)).overdue == {
        "escalation"
    }


def test_admins_edit_the_calendar_and_rules_and_it_is_audited(db: Database, staff: Staff) -> None:
    extra_day = date(2026, 9, 3)
    with db.session() as session:
        save_holiday(session, actor=staff.admin, day=extra_day, name_vi="Nghỉ bổ sung")
        save_deadline_rule(
            session,
            actor=staff.admin,
            kind=DeadlineKind.notice,
            effective_from=date(2027, 1, 1),
            amount=15,
            unit=DeadlineUnit.days,
            legal_ref="(giả định)",
        )
    assert not _calendar(db).is_working_day(extra_day)
    with db.session() as session:
        assert deadlines.load_book(session).rule(DeadlineKind.notice, date(2027, 6, 1)).amount == 15
        delete_holiday(session, actor=staff.admin, day=extra_day)
    assert _calendar(db).is_working_day(extra_day)
    with pytest.raises(AppError) as caught, db.session() as session:
        save_holiday(session, actor=staff.operator, day=extra_day, name_vi="x")
    assert caught.value.status_code == 403
