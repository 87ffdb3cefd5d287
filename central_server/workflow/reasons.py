"""Reason codes: the configurable list a rejection, dismissal or reopening must cite."""

from __future__ import annotations

import logging

from sqlmodel import Session, col, select

from central_server import audit
from central_server.errors import AppError
from central_server.roles import Actor, Role
from central_server.workflow.models import ReasonCode

logger = logging.getLogger(__name__)

# What a reason may justify (ReasonCode.applies_to).
REJECT = "reject"
DISMISS = "dismiss"
REOPEN = "reopen"
PURPOSES = frozenset({REJECT, DISMISS, REOPEN})


def list_reasons(
    session: Session, *, purpose: str | None = None, include_inactive: bool = False
) -> list[ReasonCode]:
    """The reason codes, in display order, optionally only those for `purpose`."""
    statement = select(ReasonCode).order_by(col(ReasonCode.sort_order), col(ReasonCode.code))
    if not include_inactive:
        statement = statement.where(col(ReasonCode.active).is_(True))
    reasons = list(session.exec(statement).all())
    if purpose is not None:
        reasons = [reason for reason in reasons if purpose in reason.applies_to]
    return reasons


def require_reason(
    session: Session, purpose: str, code: str | None, note: str | None
) -> ReasonCode:
    """Check that `code` is an active reason for `purpose` (with a note if it needs one); 422."""
    if not code:
        raise AppError(
            422,
            "reason_required",
            "Cần chọn lý do.",
            f"A reason code is required to {purpose}.",
        )
    reason = session.get(ReasonCode, code)
    if reason is None or not reason.active or purpose not in reason.applies_to:
        raise AppError(
            422,
            "unknown_reason",
            f"Lý do “{code}” không hợp lệ cho thao tác này.",
            f"Reason code {code!r} is not valid to {purpose}.",
        )
    if reason.requires_note and not (note and note.strip()):
        raise AppError(
            422,
            "note_required",
            "Lý do này cần ghi rõ nội dung.",
            f"Reason {code!r} needs a note explaining it.",
        )
    return reason


def save_reason(session: Session, *, actor: Actor, reason: ReasonCode) -> ReasonCode:
    """Add or edit a reason code (admins); codes are deactivated, never deleted. Audited."""
    if not actor.has(Role.admin):
        raise AppError(403, "forbidden", "Chỉ quản trị viên được sửa lý do.", "Admins only.")
    unknown = set(reason.applies_to) - PURPOSES
    if unknown:
        raise AppError(
            422,
            "invalid_reason",
            f"Phạm vi áp dụng không hợp lệ: {sorted(unknown)}.",
            f"Unknown purposes: {sorted(unknown)}.",
        )
    existing = session.get(ReasonCode, reason.code)
    before = None if existing is None else existing.model_dump()
    row = existing or ReasonCode(code=reason.code, label_vi="", label_en="")
    for field in ("label_vi", "label_en", "applies_to", "requires_note", "active", "sort_order"):
        setattr(row, field, getattr(reason, field))
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor.audit_name,
        action="reason_code.saved",
        entity_type="reason_code",
        entity_id=row.code,
        before=before,
        after=row.model_dump(),
    )
    return row
