"""The workflow's daily jobs (run by the scheduler process): due dates, expiry, overdue flags.

Each takes the session of the scheduler's transaction and commits nothing itself. They are
idempotent "as of now": after downtime one run catches up on every day missed.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import and_, delete, not_, or_, update
from sqlmodel import Session, col, select

from central_server.errors import AppError
from central_server.models import Violation
from central_server.roles import Actor
from central_server.workflow import deadlines
from central_server.workflow.claims import SKIP_MEMORY
from central_server.workflow.models import ReviewClaim, ReviewSkip
from central_server.workflow.service import Action, transition

logger = logging.getLogger(__name__)

SCHEDULER = Actor.system("scheduler")
_BATCH = 500


def fill_missing_due_dates(session: Session, now: datetime) -> int:
    """Give due dates to violations stored before the rules were (the insert hook's fallback)."""
    statement = (
        select(Violation)
        .where(or_(col(Violation.notice_due_at).is_(None), col(Violation.expires_at).is_(None)))
        .limit(_BATCH)
    )
    book = deadlines.load_book(session)
    calendar = deadlines.load_calendar(session)
    filled = 0
    while batch := list(session.exec(statement).all()):
        for violation in batch:
            notice_due, expires = deadlines.initial_due_dates(book, violation.occurred_at, calendar)
            violation.notice_due_at = violation.notice_due_at or notice_due
            violation.expires_at = violation.expires_at or expires
            session.add(violation)
        session.flush()
        filled += len(batch)
    return filled


def expire_cases(session: Session, now: datetime) -> int:
    """Move open cases past their limitation period to `expired`, one audited transition each."""
    candidates = session.exec(
        select(col(Violation.id))
        .where(col(Violation.status).in_(deadlines.EXPIRABLE))
        .where(col(Violation.expires_at) <= now)
        .order_by(col(Violation.id))
    ).all()
    expired = 0
    for violation_id in candidates:
        try:
            # A savepoint per case: one refused (changed meanwhile) does not undo the others.
            with session.begin_nested():
                transition(
                    session,
                    violation_id=violation_id,
                    action=Action.expire,
                    actor=SCHEDULER,
                    now=now,
                )
        except AppError as exc:
            logger.warning("violation %s not expired: %s", violation_id, exc.message_en)
            continue
        expired += 1
    if expired:
        logger.info("%d case(s) expired", expired)
    return expired


def flag_overdue(session: Session, now: datetime) -> dict[str, int]:
    """Set and clear the overdue flags of every case in bulk; return the changes per flag."""
    table = Violation.__table__  # type: ignore[attr-defined]
    changes: dict[str, int] = {}
    # Core updates: flags are derived data, so they neither bump the case's version (no one's
    # pending action becomes stale) nor pass through transition().
    for flag, condition in deadlines.overdue_conditions(now).items():
        column = table.c[flag]
        raised = session.execute(
            update(table).where(and_(condition, column.is_(False))).values({flag: True})
        )
        cleared = session.execute(
            update(table).where(and_(not_(condition), column.is_(True))).values({flag: False})
        )
        changes[flag] = raised.rowcount + cleared.rowcount  # type: ignore[attr-defined]
    logger.info("overdue flags updated: %s", changes)
    return changes


def purge_stale_claims(session: Session, now: datetime) -> int:
    """Delete lapsed review claims and forgotten skips (housekeeping)."""
    claims = session.execute(delete(ReviewClaim).where(col(ReviewClaim.expires_at) < now))
    skips = session.execute(
        delete(ReviewSkip).where(col(ReviewSkip.skipped_at) < now - SKIP_MEMORY)
    )
    return int(claims.rowcount + skips.rowcount)  # type: ignore[attr-defined]
