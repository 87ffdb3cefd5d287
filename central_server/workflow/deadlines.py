"""Legal deadlines as data: rules versioned by effective date, a holiday calendar, due dates.

A rule applies by the violation's date (its local date in Vietnam, UTC+7 all year): the rule of
that kind with the latest `effective_from` on or before it; a violation older than every rule
takes the earliest. Due dates are the end of a local day (23:59:59.999999 ICT), except expiry,
which is the anniversary instant of the violation ("one year after detection"). A case is overdue
on a deadline once the time is past it while the case still waits for the step the deadline is
about; the scheduler's daily job writes the flags (`jobs.flag_overdue`), transitions refresh them.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, event, select
from sqlalchemy.orm import Mapper
from sqlmodel import Session, col

from central_server.models import Violation, ViolationStatus
from central_server.workflow.models import DeadlineKind, DeadlineRule, DeadlineUnit, Holiday

logger = logging.getLogger(__name__)

# Vietnam keeps UTC+7 all year (no daylight saving since 1975): no tz database needed.
VN_TZ = timezone(timedelta(hours=7), "ICT")

# The states in which each deadline still binds (the step it is about has not happened yet).
NOTICE_OPEN = frozenset(
    {
        ViolationStatus.pending_review,
        ViolationStatus.approved,
        ViolationStatus.verifying,
        ViolationStatus.confirmed,
    }
)
ESCALATION_OPEN = frozenset({ViolationStatus.notified})
RECORD_OPEN = frozenset({ViolationStatus.confirmed, ViolationStatus.notified})
EXPIRABLE = frozenset(
    {
        ViolationStatus.approved,
        ViolationStatus.verifying,
        ViolationStatus.confirmed,
        ViolationStatus.notified,
    }
)


@dataclass(frozen=True)
class Rule:
    """One deadline rule as loaded from `deadline_rule`."""

    kind: DeadlineKind
    effective_from: date
    amount: int
    unit: DeadlineUnit
    legal_ref: str = ""


class DeadlineBook:
    """Every rule, by kind and effective date; `rule(kind, on)` picks the one in force."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._by_kind: dict[DeadlineKind, list[Rule]] = {}
        for rule in sorted(rules, key=lambda r: r.effective_from):
            self._by_kind.setdefault(rule.kind, []).append(rule)

    def rule(self, kind: DeadlineKind, on: date) -> Rule:
        """Return the rule of `kind` in force on `on` (the earliest if `on` predates them all)."""
        rules = self._by_kind.get(kind)
        if not rules:
            raise LookupError(f"no deadline rule of kind {kind.value}: seed deadline_rule")
        index = bisect.bisect_right([r.effective_from for r in rules], on) - 1
        return rules[max(index, 0)]


class HolidayCalendar:
    """Working days: Monday to Friday, minus days off, plus weekend days worked in exchange."""

    def __init__(self, days_off: Iterable[date] = (), working: Iterable[date] = ()) -> None:
        self._off = frozenset(days_off)
        self._working = frozenset(working)

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day for state bodies."""
        if day in self._working:
            return True
        return day.weekday() < 5 and day not in self._off

    def add_working_days(self, start: date, count: int) -> date:
        """The date `count` working days after `start` (`start` itself not counted)."""
        day, counted = start, 0
        while counted < count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day


def local_date(at: datetime) -> date:
    """The calendar date in Vietnam of an aware datetime."""
    return at.astimezone(VN_TZ).date()


def end_of_local_day(day: date) -> datetime:
    """The last instant of `day` in Vietnam, in UTC."""
    return datetime.combine(day, time.max, VN_TZ).astimezone(timezone.utc)


def add_years(at: datetime, years: int) -> datetime:
    """The same local date and time `years` later (29 February becomes 28 February)."""
    local = at.astimezone(VN_TZ)
    try:
        shifted = local.replace(year=local.year + years)
    except ValueError:
        shifted = local.replace(year=local.year + years, day=28)
    return shifted.astimezone(timezone.utc)


def apply_rule(rule: Rule, start: date, calendar: HolidayCalendar) -> date:
    """The due date `rule` gives counting from `start`."""
    if rule.unit is DeadlineUnit.days:
        return start + timedelta(days=rule.amount)
    if rule.unit is DeadlineUnit.working_days:
        return calendar.add_working_days(start, rule.amount)
    shifted = add_years(datetime.combine(start, time(12), VN_TZ), rule.amount)
    return local_date(shifted)


def _rule_of(row: Any) -> Rule:
    return Rule(
        kind=DeadlineKind(row.kind),
        effective_from=row.effective_from,
        amount=row.amount,
        unit=DeadlineUnit(row.unit),
        legal_ref=row.legal_ref,
    )


def load_book(session: Session | Connection) -> DeadlineBook:
    """Read every deadline rule."""
    rows = session.execute(select(DeadlineRule.__table__)).all()  # type: ignore[attr-defined]
    return DeadlineBook(_rule_of(row) for row in rows)


def load_calendar(session: Session | Connection) -> HolidayCalendar:
    """Read the holiday calendar (a few dozen rows a year)."""
    rows = session.execute(select(col(Holiday.day), col(Holiday.working))).all()
    return HolidayCalendar(
        days_off=(row.day for row in rows if not row.working),
        working=(row.day for row in rows if row.working),
    )


def _needs_calendar(*rules: Rule) -> bool:
    return any(rule.unit is DeadlineUnit.working_days for rule in rules)


def initial_due_dates(
    book: DeadlineBook, occurred_at: datetime, calendar: HolidayCalendar
) -> tuple[datetime, datetime]:
    """(notice due, expiry) of a violation that occurred at `occurred_at`."""
    on = local_date(occurred_at)
    notice = book.rule(DeadlineKind.notice, on)
    notice_due = end_of_local_day(apply_rule(notice, on, calendar))
    expiry = book.rule(DeadlineKind.expiry, on)
    if expiry.unit is DeadlineUnit.years:
        return notice_due, add_years(occurred_at, expiry.amount)
    return notice_due, end_of_local_day(apply_rule(expiry, on, calendar))


def escalation_due(
    book: DeadlineBook, calendar: HolidayCalendar, violation: Violation, notice_date: date
) -> datetime:
    """When the escalation falls due after a notice sent on `notice_date`."""
    rule = book.rule(DeadlineKind.escalation, local_date(violation.occurred_at))
    return end_of_local_day(apply_rule(rule, notice_date, calendar))


def record_due(
    book: DeadlineBook, calendar: HolidayCalendar, violation: Violation, identified: date
) -> datetime:
    """When the record (biên bản) falls due after identifying the violator on `identified`."""
    rule = book.rule(DeadlineKind.record, local_date(violation.occurred_at))
    return end_of_local_day(apply_rule(rule, identified, calendar))


@dataclass(frozen=True)
class DueDates:
    """A case's due dates and the deadlines it has missed at the time asked."""

    notice_due_at: datetime | None
    escalation_due_at: datetime | None
    record_due_at: datetime | None
    expires_at: datetime | None
    overdue: frozenset[str]


def _past(due: datetime | None, now: datetime) -> bool:
    return due is not None and now > due


def overdue_kinds(violation: Violation, now: datetime) -> frozenset[str]:
    """Which deadlines (`notice`, `escalation`, `record`) the case has missed at `now`."""
    status = violation.status
    kinds = set()
    if status in NOTICE_OPEN and _past(violation.notice_due_at, now):
        kinds.add("notice")
    escalation_open = status in ESCALATION_OPEN and violation.escalated_at is None
    if escalation_open and _past(violation.escalation_due_at, now):
        kinds.add("escalation")
    if status in RECORD_OPEN and _past(violation.record_due_at, now):
        kinds.add("record")
    return frozenset(kinds)


def due_dates(violation: Violation, *, now: datetime | None = None) -> DueDates:
    """The case's due dates and what is overdue at `now` (default: the current time)."""
    now = now or datetime.now(timezone.utc)
    return DueDates(
        notice_due_at=violation.notice_due_at,
        escalation_due_at=violation.escalation_due_at,
        record_due_at=violation.record_due_at,
        expires_at=violation.expires_at,
        overdue=overdue_kinds(violation, now),
    )


def refresh_overdue(violation: Violation, now: datetime) -> None:
    """Write the overdue flags of one case (after a transition or a police record)."""
    kinds = overdue_kinds(violation, now)
    violation.overdue_notice = "notice" in kinds
    violation.overdue_escalation = "escalation" in kinds
    violation.overdue_record = "record" in kinds


def overdue_conditions(now: datetime) -> dict[str, ColumnElement[bool]]:
    """The SQL form of `overdue_kinds`, by flag column, for the daily job's bulk updates."""
    status = col(Violation.status)
    return {
        "overdue_notice": and_(
            status.in_(NOTICE_OPEN),
            col(Violation.notice_due_at).is_not(None),
            col(Violation.notice_due_at) < now,
        ),
        "overdue_escalation": and_(
            status.in_(ESCALATION_OPEN),
            col(Violation.escalated_at).is_(None),
            col(Violation.escalation_due_at).is_not(None),
            col(Violation.escalation_due_at) < now,
        ),
        "overdue_record": and_(
            status.in_(RECORD_OPEN),
            col(Violation.record_due_at).is_not(None),
            col(Violation.record_due_at) < now,
        ),
    }


@event.listens_for(Violation, "before_insert")
def _assign_due_dates(_mapper: Mapper[Any], connection: Connection, target: Violation) -> None:
    """Give every new violation its notice due date and expiry, whoever inserts it."""
    if target.notice_due_at is not None and target.expires_at is not None:
        return
    try:
        book = load_book(connection)
        on = local_date(target.occurred_at)
        rules = (book.rule(DeadlineKind.notice, on), book.rule(DeadlineKind.expiry, on))
    except LookupError:
        # No rules seeded (a bare schema): the scheduler's daily job fills them in later.
        logger.warning("no deadline rules: violation %s stored without due dates", target.packet_id)
        return
    calendar = load_calendar(connection) if _needs_calendar(*rules) else HolidayCalendar()
    notice_due, expires = initial_due_dates(book, target.occurred_at, calendar)
    target.notice_due_at = target.notice_due_at or notice_due
    target.expires_at = target.expires_at or expires
