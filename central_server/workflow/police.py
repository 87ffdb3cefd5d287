"""Police records on a case: references the police enter, never copies of national registers.

Notice, penalty decision and payment come with their transitions (`transition(data=...)`); owner
identified, transfer (form 03) and escalation are recorded here without changing the status.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlmodel import Session, col, select

from central_server import audit
from central_server.errors import AppError
from central_server.models import Unit, Violation
from central_server.models import ViolationStatus as S
from central_server.roles import POLICE_ROLES, Actor
from central_server.workflow import deadlines
from central_server.workflow.claims import check_scope, lock_violation
from central_server.workflow.models import PoliceRecord, PoliceRecordKind
from central_server.workflow.publication import sync_publication
from central_server.workflow.schemas import (
    Escalation,
    OwnerIdentified,
    RecordEntry,
    Transfer,
    parse_record,
)

logger = logging.getLogger(__name__)

# Records made outside a transition, and the states in which they make sense.
STANDALONE_RECORDS: dict[PoliceRecordKind, frozenset[S]] = {
    PoliceRecordKind.owner_identified: frozenset({S.verifying, S.confirmed, S.notified}),
    PoliceRecordKind.transfer: frozenset({S.confirmed, S.notified}),
    PoliceRecordKind.escalation: frozenset({S.notified}),
}


def check_record_date(violation: Violation, entry: RecordEntry, now: datetime) -> None:
    """AppError 422 if the entered date precedes the violation or lies in the future."""
    earliest, today = deadlines.local_date(violation.occurred_at), deadlines.local_date(now)
    if earliest <= entry.date <= today:
        return
    raise AppError(
        422,
        "invalid_date",
        f"Ngày {entry.date:%d/%m/%Y} phải từ ngày vi phạm ({earliest:%d/%m/%Y}) đến hôm nay.",
        f"The date {entry.date} must lie between the violation ({earliest}) and today.",
        detail={"fields": ["date"]},
    )


def insert_record(
    session: Session,
    violation: Violation,
    kind: PoliceRecordKind,
    entry: RecordEntry,
    actor: Actor,
    now: datetime,
) -> PoliceRecord:
    """Store one police record (the caller audits it)."""
    record = PoliceRecord(
        violation_id=violation.id or 0,
        kind=kind,
        reference=str(getattr(entry, "number", None) or getattr(entry, "reference", "")),
        on_date=entry.date,
        channel=getattr(entry, "channel", None),
        unit_id=getattr(entry, "unit_id", None),
        amount_vnd=getattr(entry, "amount_vnd", None),
        points=getattr(entry, "points", None),
        note=entry.note,
        recorded_by=actor.audit_name,
        recorded_at=now,
    )
    session.add(record)
    return record


def _apply_effects(
    session: Session, violation: Violation, entry: RecordEntry, now: datetime
) -> None:
    if isinstance(entry, OwnerIdentified):
        book, calendar = deadlines.load_book(session), deadlines.load_calendar(session)
        violation.record_due_at = deadlines.record_due(book, calendar, violation, entry.date)
    elif isinstance(entry, Escalation):
        violation.escalated_at = now
    elif isinstance(entry, Transfer) and session.get(Unit, entry.unit_id) is None:
        raise AppError(
            422,
            "unknown_unit",
            f"Không có đơn vị {entry.unit_id}.",
            f"Unit {entry.unit_id} does not exist.",
            detail={"fields": ["unit_id"]},
        )
    deadlines.refresh_overdue(violation, now)


def _check_police(actor: Actor) -> None:
    if actor.user_id is None or not actor.has(*POLICE_ROLES):
        raise AppError(
            403,
            "forbidden",
            "Chỉ cán bộ Công an được ghi nhận thông tin xử lý.",
            "Only police officers record case handling.",
        )


def add_police_record(
    session: Session,
    *,
    violation_id: int,
    kind: PoliceRecordKind,
    data: dict[str, object] | None,
    actor: Actor,
    now: datetime | None = None,
) -> PoliceRecord:
    """Record owner identified, a transfer (form 03) or the escalation on a case; audited."""
    now = now or datetime.now(timezone.utc)
    _check_police(actor)
    violation = lock_violation(session, violation_id)
    check_scope(session, actor, violation)
    states = STANDALONE_RECORDS.get(kind)
    if states is None:
        raise AppError(
            422,
            "record_needs_transition",
            "Thông tin này được ghi cùng thao tác chuyển trạng thái tương ứng.",
            f"A {kind.value} is recorded with its transition (notify, penalize, pay).",
        )
    if violation.status not in states:
        raise AppError(
            409,
            "invalid_state_for_record",
            f"Không thể ghi {kind.value} khi vi phạm ở trạng thái {violation.status.value}.",
            f"Cannot record {kind.value} on a case that is {violation.status.value}.",
            detail={"status": violation.status.value},
        )
    entry = parse_record(kind, data)
    check_record_date(violation, entry, now)
    _apply_effects(session, violation, entry, now)
    record = insert_record(session, violation, kind, entry, actor, now)
    session.flush()
    sync_publication(session, violation, now)
    audit.append(
        session,
        actor=actor.audit_name,
        action=f"police_record.{kind.value}",
        entity_type="violation",
        entity_id=violation_id,
        after={"record_id": record.id, **entry.model_dump(mode="json")},
    )
    return record


def list_police_records(session: Session, violation_id: int) -> list[PoliceRecord]:
    """A case's police records, oldest first."""
    statement = (
        select(PoliceRecord)
        .where(col(PoliceRecord.violation_id) == violation_id)
        .order_by(col(PoliceRecord.id))
    )
    return list(session.exec(statement).all())
