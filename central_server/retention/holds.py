"""Legal holds: a held case is left whole by retention until the hold is released."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from central_server import audit
from central_server.errors import AppError
from central_server.models import Violation
from central_server.retention.models import LegalHold

logger = logging.getLogger(__name__)


def active_hold(session: Session, violation_id: int) -> LegalHold | None:
    """The case's hold in force, if any."""
    statement = select(LegalHold).where(
        col(LegalHold.violation_id) == violation_id, col(LegalHold.released_at).is_(None)
    )
    hold: LegalHold | None = session.exec(statement).first()
    return hold


def place_hold(
    session: Session, violation_id: int, *, reason: str, actor: str, now: datetime
) -> LegalHold:
    """Put a case under legal hold (404 unknown case, 409 already held); audited, no commit."""
    if session.get(Violation, violation_id) is None:
        raise AppError(404, "not_found", "Không tìm thấy vi phạm.", "No such violation.")
    if active_hold(session, violation_id) is not None:
        raise AppError(409, "already_held", "Vụ việc đang bị phong tỏa.", "Already on hold.")
    hold = LegalHold(violation_id=violation_id, reason=reason, placed_by=actor, placed_at=now)
    session.add(hold)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="legal_hold.placed",
        entity_type="violation",
        entity_id=violation_id,
        after={"hold_id": hold.id, "reason": reason},
    )
    logger.info("legal hold on violation %d by %s", violation_id, actor)
    return hold


def release_hold(session: Session, violation_id: int, *, actor: str, now: datetime) -> LegalHold:
    """Release a case's hold (404 when none); audited, no commit."""
    hold = active_hold(session, violation_id)
    if hold is None:
        raise AppError(404, "not_held", "Vụ việc không bị phong tỏa.", "The case is not on hold.")
    hold.released_by, hold.released_at = actor, now
    session.add(hold)
    audit.append(
        session,
        actor=actor,
        action="legal_hold.released",
        entity_type="violation",
        entity_id=violation_id,
        after={"hold_id": hold.id},
    )
    return hold
