"""`transition()`: the one way a violation's status changes (DESIGN.md, Workflow).

In one transaction (the caller's; nothing here commits) it locks the case, checks the actor's
roles, scope and relation to the case (403), the current state and the version the actor saw
(409), the reason or police data the step needs (422), applies the change, refreshes due dates,
overdue flags and the public row, stores the police record, and appends the audit event. The case
is locked before the audit head, always in that order, so concurrent transitions cannot deadlock:
of two people acting on one case at once, one wins and the other gets 409.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from central_server import audit
from central_server.catalogue import service as catalogue
from central_server.errors import AppError
from central_server.models import Violation
from central_server.roles import Actor, Role
from central_server.workflow import deadlines
from central_server.workflow.claims import (
    check_scope,
    claim_for_review,
    drop_claim,
    lock_violation,
    next_for_review,
    release_claim,
    renew_claim,
    review_queue,
)
from central_server.workflow.deadlines import DueDates, due_dates
from central_server.workflow.filters import QueueFilters
from central_server.workflow.models import ReviewClaim
from central_server.workflow.police import check_record_date, insert_record
from central_server.workflow.publication import sync_publication
from central_server.workflow.reasons import require_reason
from central_server.workflow.schemas import PenaltyDecision, RecordEntry, parse_record
from central_server.workflow.states import STATUS_LABELS_VI, TRANSITIONS, Action, Rule, Who

# The workflow's public names, importable from here (docs and the staff API code against them).
__all__ = [
    "Action",
    "DueDates",
    "QueueFilters",
    "claim_for_review",
    "due_dates",
    "next_for_review",
    "release_claim",
    "renew_claim",
    "review_queue",
    "transition",
]

logger = logging.getLogger(__name__)


@dataclass
class _Step:
    """Everything one transition works with."""

    session: Session
    violation: Violation
    action: Action
    actor: Actor
    entry: RecordEntry | None
    now: datetime


def _forbidden(message_vi: str, message_en: str) -> AppError:
    return AppError(403, "forbidden", message_vi, message_en)


def _check_actor(rule: Rule, step: _Step) -> None:
    actor, violation = step.actor, step.violation
    if rule.who is Who.system:
        if not actor.is_system:
            raise _forbidden("Chỉ hệ thống được thực hiện thao tác này.", "System only.")
        return
    if actor.user_id is None or not actor.has(*rule.roles):
        roles = ", ".join(sorted(role.value for role in rule.roles))
        raise _forbidden(
            "Bạn không có quyền thực hiện thao tác này.",
            f"Action {step.action.value} needs one of the roles: {roles}.",
        )
    check_scope(step.session, actor, violation)
    if rule.who is Who.not_approver and violation.approved_by_user_id == actor.user_id:
        raise _forbidden(
            "Người phê duyệt không được xác minh vi phạm do mình phê duyệt.",
            "The approver of a case may not verify it.",
        )
    is_claimant = violation.claimed_by_user_id == actor.user_id
    if rule.who is Who.claimant and not is_claimant:
        raise _forbidden(
            "Chỉ cán bộ đang xác minh vụ việc được kết luận.",
            "Only the officer verifying the case may conclude it.",
        )
    if rule.who is Who.claimant_or_lead and not (is_claimant or actor.has(Role.police_lead)):
        raise _forbidden(
            "Chỉ người nhận xác minh hoặc lãnh đạo CSGT được trả lại vụ việc.",
            "Only the claimant or a police lead may release the case.",
        )


def _check_state(rule: Rule, step: _Step, expected_version: int | None) -> None:
    violation = step.violation
    if expected_version is not None and expected_version != violation.version:
        raise AppError(
            409,
            "stale_version",
            "Vi phạm vừa được người khác cập nhật; vui lòng tải lại trước khi thao tác.",
            "Someone else changed this case since you loaded it; reload it and try again.",
            detail={"expected_version": expected_version, "version": violation.version},
        )
    if violation.status not in rule.sources:
        status = violation.status
        raise AppError(
            409,
            "invalid_transition",
            f"Không thể {step.action.value} khi vi phạm ở trạng thái “{STATUS_LABELS_VI[status]}”.",
            f"Cannot {step.action.value} a case that is {status.value}.",
            detail={"status": status.value, "version": violation.version},
        )


def _refuse_if_claimed_by_other(step: _Step) -> None:
    claim = step.session.get(ReviewClaim, step.violation.id, populate_existing=True)
    if claim is not None and claim.user_id != step.actor.user_id and claim.expires_at > step.now:
        raise AppError(
            409,
            "claimed_by_other",
            "Vi phạm đang được cán bộ khác duyệt.",
            "Another reviewer holds this case.",
            detail={"user_id": claim.user_id, "until": claim.expires_at.isoformat()},
        )
    drop_claim(step.session, step.violation.id or 0)


def _on_review_decision(step: _Step) -> None:
    _refuse_if_claimed_by_other(step)
    if step.action is Action.approve:
        step.violation.approved_by_user_id = step.actor.user_id
        step.violation.approved_at = step.now


def _on_claim(step: _Step) -> None:
    step.violation.claimed_by_user_id = step.actor.user_id
    step.violation.claimed_at = step.now


def _on_release(step: _Step) -> None:
    step.violation.claimed_by_user_id = None
    step.violation.claimed_at = None


def _on_confirm(step: _Step) -> None:
    violation = step.violation
    if not violation.plate_text:
        raise AppError(
            422,
            "plate_required",
            "Cần xác định biển số trước khi kết luận có vi phạm.",
            "Identify the plate before confirming the violation.",
        )
    entry = catalogue.lookup(violation.behaviour, violation.vehicle_class, violation.occurred_at)
    violation.legal_ref = entry.legal_ref if entry is not None else None


def _on_notify(step: _Step) -> None:
    assert step.entry is not None
    book = deadlines.load_book(step.session)
    calendar = deadlines.load_calendar(step.session)
    step.violation.escalation_due_at = deadlines.escalation_due(
        book, calendar, step.violation, step.entry.date
    )


def _on_penalize(step: _Step) -> None:
    decision = step.entry
    assert isinstance(decision, PenaltyDecision)
    violation = step.violation
    entry = catalogue.lookup(violation.behaviour, violation.vehicle_class, violation.occurred_at)
    if entry is None:
        return
    # Individuals pay within the range, organisations up to their (double) range.
    if not entry.fine_min <= decision.amount_vnd <= entry.org_fine_max:
        raise AppError(
            422,
            "fine_out_of_range",
            f"Mức phạt theo {entry.legal_ref}: {entry.fine_min:,}–{entry.fine_max:,} đồng "
            f"(tổ chức đến {entry.org_fine_max:,} đồng).".replace(",", "."),
            f"The fine under {entry.legal_ref} is {entry.fine_min:,}-{entry.fine_max:,} VND "
            f"(organisations up to {entry.org_fine_max:,}).",
            detail={"fields": ["amount_vnd"], "legal_ref": entry.legal_ref},
        )
    if decision.points > entry.points:
        raise AppError(
            422,
            "points_out_of_range",
            f"{entry.legal_ref} trừ tối đa {entry.points} điểm.",
            f"{entry.legal_ref} deducts at most {entry.points} points.",
            detail={"fields": ["points"], "legal_ref": entry.legal_ref},
        )


def _on_expire(step: _Step) -> None:
    expires_at = step.violation.expires_at
    if expires_at is None or step.now < expires_at:
        raise AppError(
            409,
            "not_expired",
            "Vụ việc chưa hết thời hiệu.",
            "The case's limitation period has not ended.",
            detail={"expires_at": expires_at.isoformat() if expires_at else None},
        )


def _on_reopen(step: _Step) -> None:
    violation = step.violation
    violation.claimed_by_user_id = None
    violation.claimed_at = None
    violation.legal_ref = None
    approved = step.action is Action.reopen_approved
    # Reopening straight to the police hands the case over: the admin is its approver now.
    violation.approved_by_user_id = step.actor.user_id if approved else None
    violation.approved_at = step.now if approved else None


def _nothing(step: _Step) -> None:
    return None


_EFFECTS: dict[Action, Callable[[_Step], None]] = {
    Action.approve: _on_review_decision,
    Action.reject: _on_review_decision,
    Action.claim: _on_claim,
    Action.release: _on_release,
    Action.confirm: _on_confirm,
    Action.dismiss: _nothing,
    Action.notify: _on_notify,
    Action.penalize: _on_penalize,
    Action.pay: _nothing,
    Action.close: _nothing,
    Action.expire: _on_expire,
    Action.reopen_review: _on_reopen,
    Action.reopen_approved: _on_reopen,
}


def _flush(session: Session, violation: Violation) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        # The row changed between our read and our write (another session won the race).
        raise AppError(
            409,
            "stale_version",
            "Vi phạm vừa được người khác cập nhật; vui lòng tải lại trước khi thao tác.",
            "Someone else changed this case at the same time; reload it and try again.",
            detail={"violation_id": violation.id},
        ) from exc


def _audit(step: _Step, before: dict[str, Any], reason: str | None, note: str | None) -> None:
    violation = step.violation
    after: dict[str, Any] = {"status": violation.status.value, "version": violation.version}
    extras = {
        "reason_code": reason,
        "note": note,
        "data": None if step.entry is None else step.entry.model_dump(mode="json"),
        "legal_ref": violation.legal_ref if step.action is Action.confirm else None,
    }
    after |= {key: value for key, value in extras.items() if value is not None}
    audit.append(
        step.session,
        actor=step.actor.audit_name,
        action=f"violation.{step.action.value}",
        entity_type="violation",
        entity_id=violation.id or 0,
        before=before,
        after=after,
    )


def transition(
    session: Session,
    *,
    violation_id: int,
    action: Action,
    actor: Actor,
    expected_version: int | None = None,
    reason_code: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Violation:
    """Apply `action` to a violation (AppError 404/403/409/422); never commits."""
    now = now or datetime.now(timezone.utc)
    rule = TRANSITIONS[Action(action)]
    violation = lock_violation(session, violation_id)
    step = _Step(session, violation, Action(action), actor, None, now)
    _check_actor(rule, step)
    _check_state(rule, step, expected_version)
    if rule.reason is not None:
        require_reason(session, rule.reason, reason_code, note)
    if rule.record is not None:
        step.entry = parse_record(rule.record, data)
        check_record_date(violation, step.entry, now)
    before = {"status": violation.status.value, "version": violation.version}
    _EFFECTS[step.action](step)
    violation.status = rule.target
    if rule.reason is not None:
        violation.reason_code, violation.reason_note = reason_code, (note or None)
    deadlines.refresh_overdue(violation, now)
    _flush(session, violation)
    if rule.record is not None and step.entry is not None:
        insert_record(session, violation, rule.record, step.entry, actor, now)
    sync_publication(session, violation, now)
    _audit(step, before, reason_code if rule.reason else None, note)
    logger.info("violation %s: %s by %s", violation_id, step.action.value, actor.audit_name)
    return violation
