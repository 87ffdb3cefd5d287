"""Admins edit the holiday calendar and the deadline rules; every edit is audited.

Rules are versioned: a change in the law is a new rule with a later `effective_from`, never an
edit of the one older cases were judged by. Due dates already given keep their value; new
violations, notices and identifications use the rules in force on the violation's date.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlmodel import Session, col, select

from central_server import audit
from central_server.errors import AppError
from central_server.roles import Actor, Role
from central_server.workflow.models import DeadlineKind, DeadlineRule, DeadlineUnit, Holiday

logger = logging.getLogger(__name__)


def _require_admin(actor: Actor) -> None:
    if not actor.has(Role.admin):
        raise AppError(
            403,
            "forbidden",
            "Chỉ quản trị viên được sửa lịch nghỉ và thời hạn.",
            "Only administrators edit holidays and deadlines.",
        )


def list_holidays(session: Session, *, year: int | None = None) -> list[Holiday]:
    """Days off and weekend days worked, in date order (one year, or all)."""
    statement = select(Holiday).order_by(col(Holiday.day))
    if year is not None:
        statement = statement.where(col(Holiday.day) >= date(year, 1, 1))
        statement = statement.where(col(Holiday.day) < date(year + 1, 1, 1))
    return list(session.exec(statement).all())


def save_holiday(
    session: Session,
    *,
    actor: Actor,
    day: date,
    name_vi: str,
    name_en: str = "",
    working: bool = False,
) -> Holiday:
    """Add or change a day off (or, with `working`, a weekend day worked). Audited."""
    _require_admin(actor)
    row = session.get(Holiday, day)
    before = None if row is None else row.model_dump(mode="json")
    row = row or Holiday(day=day, name_vi=name_vi)
    row.name_vi, row.name_en, row.working = name_vi, name_en, working
    row.updated_by = actor.audit_name
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor.audit_name,
        action="holiday.saved",
        entity_type="holiday",
        entity_id=day.isoformat(),
        before=before,
        after=row.model_dump(mode="json"),
    )
    return row


def delete_holiday(session: Session, *, actor: Actor, day: date) -> None:
    """Remove a day from the calendar (AppError 404 if it is not there). Audited."""
    _require_admin(actor)
    row = session.get(Holiday, day)
    if row is None:
        raise AppError(
            404, "not_found", f"Không có ngày nghỉ {day:%d/%m/%Y}.", f"No holiday on {day}."
        )
    before = row.model_dump(mode="json")
    session.delete(row)
    session.flush()
    audit.append(
        session,
        actor=actor.audit_name,
        action="holiday.deleted",
        entity_type="holiday",
        entity_id=day.isoformat(),
        before=before,
    )


def list_deadline_rules(session: Session) -> list[DeadlineRule]:
    """Every deadline rule, by kind then effective date."""
    statement = select(DeadlineRule).order_by(
        col(DeadlineRule.kind), col(DeadlineRule.effective_from)
    )
    return list(session.exec(statement).all())


def save_deadline_rule(
    session: Session,
    *,
    actor: Actor,
    kind: DeadlineKind,
    effective_from: date,
    amount: int,
    unit: DeadlineUnit,
    legal_ref: str = "",
    note: str = "",
) -> DeadlineRule:
    """Add the rule of `kind` in force from `effective_from` (or correct that one). Audited."""
    _require_admin(actor)
    if amount <= 0:
        raise AppError(
            422, "invalid_rule", "Thời hạn phải lớn hơn 0.", "A deadline must be positive."
        )
    row = session.exec(
        select(DeadlineRule)
        .where(col(DeadlineRule.kind) == kind)
        .where(col(DeadlineRule.effective_from) == effective_from)
    ).first()
    before = None if row is None else row.model_dump(mode="json")
    row = row or DeadlineRule(kind=kind, effective_from=effective_from, amount=amount, unit=unit)
    row.amount, row.unit, row.legal_ref, row.note = amount, unit, legal_ref, note
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor.audit_name,
        action="deadline_rule.saved",
        entity_type="deadline_rule",
        entity_id=row.id or 0,
        before=before,
        after=row.model_dump(mode="json"),
    )
    return row
