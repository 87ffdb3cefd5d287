"""Case queries for the staff API: the filtered list, one case with its evidence, plate edits.

Services never commit; status changes go through `workflow.transition()` only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, exists, or_, true
from sqlmodel import Session, col, select

from central_server import audit
from central_server.api.violations.schemas import PlateCorrection, ViolationQuery
from central_server.errors import AppError
from central_server.models import AuditEvent, EvidencePart, Violation, ViolationStatus
from central_server.plates_service import record_plate_correction
from central_server.roles import Actor
from central_server.workflow.claims import check_scope, lock_violation
from central_server.workflow.deadlines import overdue_conditions
from central_server.workflow.filters import QueueFilters, filter_conditions, scope_condition
from central_server.workflow.models import PoliceRecord, ReviewClaim
from central_server.workflow.publication import compact_plate

HISTORY_LIMIT = 500


def _claimed(now: datetime) -> ColumnElement[bool]:
    held = exists().where(
        col(ReviewClaim.violation_id) == col(Violation.id), col(ReviewClaim.expires_at) > now
    )
    verifying = and_(
        col(Violation.status) == ViolationStatus.verifying,
        col(Violation.claimed_by_user_id).is_not(None),
    )
    return or_(held, verifying)


def _claimed_by(user_id: int, now: datetime) -> ColumnElement[bool]:
    held = exists().where(
        col(ReviewClaim.violation_id) == col(Violation.id),
        col(ReviewClaim.expires_at) > now,
        col(ReviewClaim.user_id) == user_id,
    )
    verifying = and_(
        col(Violation.status) == ViolationStatus.verifying,
        col(Violation.claimed_by_user_id) == user_id,
    )
    return or_(held, verifying)


def _conditions(query: ViolationQuery, actor: Actor, now: datetime) -> list[ColumnElement[bool]]:
    filters = QueueFilters(
        site_ids=frozenset(query.site_id),
        wards=frozenset(query.ward),
        behaviours=frozenset(query.behaviour),
        vehicle_classes=frozenset(query.vehicle_class),
        occurred_from=query.occurred_from,
        occurred_to=query.occurred_to,
        plate=compact_plate(query.plate) if query.plate else None,
    )
    conditions = filter_conditions(filters)
    scope = scope_condition(actor)
    if scope is not None:
        conditions.append(scope)
    if query.status:
        conditions.append(col(Violation.status).in_(sorted(query.status)))
    if query.due_before is not None:
        conditions.append(or_(*overdue_conditions(query.due_before).values()))
    if query.overdue is not None:
        flagged = or_(*overdue_conditions(now).values())
        conditions.append(flagged if query.overdue else ~flagged)
    if query.claimed is not None:
        conditions.append(_claimed(now) if query.claimed else ~_claimed(now))
    if query.claimed_by is not None:
        conditions.append(_claimed_by(query.claimed_by, now))
    return conditions


def list_violations(
    session: Session, query: ViolationQuery, *, actor: Actor, now: datetime
) -> tuple[list[Violation], int | None]:
    """A page of cases matching `query` within the actor's scopes, and the next offset."""
    order = (
        (col(Violation.occurred_at).desc(), col(Violation.id).desc())
        if query.order == "newest"
        else (col(Violation.occurred_at), col(Violation.id))
    )
    statement = (
        select(Violation)
        .where(and_(true(), *_conditions(query, actor, now)))
        .order_by(*order)
        .offset(query.offset)
        .limit(query.limit + 1)  # one more tells whether there is a next page
    )
    rows = list(session.exec(statement).all())
    more = len(rows) > query.limit
    return rows[: query.limit], (query.offset + query.limit if more else None)


def active_claims(session: Session, ids: list[int], now: datetime) -> dict[int, ReviewClaim]:
    """The live review claims on these cases, by case id."""
    if not ids:
        return {}
    statement = select(ReviewClaim).where(
        col(ReviewClaim.violation_id).in_(ids), col(ReviewClaim.expires_at) > now
    )
    return {claim.violation_id: claim for claim in session.exec(statement).all()}


def get_violation(session: Session, violation_id: int, *, actor: Actor) -> Violation:
    """One case within the actor's scopes (404, or 403 out of scope)."""
    violation = session.get(Violation, violation_id)
    if violation is None:
        raise AppError(
            404,
            "not_found",
            f"Không tìm thấy vi phạm {violation_id}.",
            f"Violation {violation_id} not found.",
        )
    check_scope(session, actor, violation)
    return violation


def parts_of(session: Session, violation: Violation) -> list[EvidencePart]:
    """The case's media parts, in the order the device sent them."""
    statement = (
        select(EvidencePart)
        .where(col(EvidencePart.packet_id) == violation.packet_id)
        .order_by(col(EvidencePart.id))
    )
    return list(session.exec(statement).all())


def police_records_of(session: Session, violation_id: int) -> list[PoliceRecord]:
    """What the police recorded on the case, oldest first."""
    statement = (
        select(PoliceRecord)
        .where(col(PoliceRecord.violation_id) == violation_id)
        .order_by(col(PoliceRecord.id))
    )
    return list(session.exec(statement).all())


def history_of(session: Session, violation_id: int) -> list[AuditEvent]:
    """The case's audited steps, oldest first (the first HISTORY_LIMIT)."""
    statement = (
        select(AuditEvent)
        .where(
            col(AuditEvent.entity_type) == "violation",
            col(AuditEvent.entity_id) == str(violation_id),
        )
        .order_by(col(AuditEvent.id))
        .limit(HISTORY_LIMIT)
    )
    return list(session.exec(statement).all())


def audit_view(session: Session, violation: Violation, actor: Actor, what: dict[str, Any]) -> None:
    """Record that staff looked at a case or its evidence (who, what, when)."""
    audit.append(
        session,
        actor=actor.audit_name,
        action="evidence.viewed",
        entity_type="violation",
        entity_id=violation.id or 0,
        after=what,
    )


def _stale(violation: Violation) -> AppError:
    return AppError(
        409,
        "stale_version",
        "Hồ sơ vừa được người khác thay đổi; hãy tải lại.",
        "The case changed since you loaded it; reload and try again.",
        detail={"version": violation.version},
    )


def _check_plate_editable(
    session: Session, violation: Violation, body: PlateCorrection, actor: Actor, now: datetime
) -> None:
    check_scope(session, actor, violation)
    if body.expected_version is not None and body.expected_version != violation.version:
        raise _stale(violation)
    if violation.status is not ViolationStatus.pending_review:
        raise AppError(
            409,
            "not_pending_review",
            "Chỉ sửa biển số khi vi phạm đang chờ duyệt.",
            "The plate can only be corrected while the case is pending review.",
        )
    claim = session.get(ReviewClaim, violation.id)
    if claim is not None and claim.expires_at > now and claim.user_id != actor.user_id:
        raise AppError(
            409, "claimed_by_other", "Cán bộ khác đang duyệt.", "Another reviewer holds this case."
        )


def correct_plate(
    session: Session, violation_id: int, body: PlateCorrection, *, actor: Actor, now: datetime
) -> Violation:
    """Set the plate a reviewer reads (pending review only, not while another holds it).

    The one correction path: `plates_service.record_plate_correction` checks it against the
    plate grammar (422 when it fits no shape and is not marked non-standard) and audits it.
    """
    violation = lock_violation(session, violation_id)
    _check_plate_editable(session, violation, body, actor, now)
    lines: Literal[1, 2] | None = 1 if body.plate_lines == 1 else 2 if body.plate_lines else None
    return record_plate_correction(
        session,
        violation,
        body.plate_printed,
        actor,
        lines=lines,
        colour=body.plate_colour,
        non_standard=body.non_standard,
        now=now,
    )
