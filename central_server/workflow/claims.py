"""Review claims: an operator holds a `pending_review` case for 10 minutes, renewed while working.

Two reviewers never work on one case: a claim is a row keyed by the case, taken under the case's
row lock, and the queue passes over cases someone else holds. Skipping releases the claim and
puts the case at the back of the skipper's own queue (others see it at once). Every claim,
renewal, release and skip is audited.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import ColumnElement, and_, exists
from sqlmodel import Session, col, select

from central_server import audit
from central_server.errors import AppError
from central_server.models import Site, Violation, ViolationStatus
from central_server.roles import Actor, Role
from central_server.workflow.filters import QueueFilters, filter_conditions, scope_condition
from central_server.workflow.models import ReviewClaim, ReviewSkip

logger = logging.getLogger(__name__)

REVIEW_CLAIM_TTL = timedelta(minutes=10)
# How long a skipped case stays at the back of the skipper's queue.
SKIP_MEMORY = timedelta(hours=12)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _operator_id(actor: Actor) -> int:
    if actor.user_id is None or not actor.has(Role.operator):
        raise AppError(
            403,
            "forbidden",
            "Chỉ cán bộ Trung tâm được nhận duyệt vi phạm.",
            "Only centre operators claim cases for review.",
        )
    return actor.user_id


def lock_violation(session: Session, violation_id: int) -> Violation:
    """Load a case under its row lock, fresh from the database (AppError 404 if absent)."""
    statement = (
        select(Violation)
        .where(col(Violation.id) == violation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    violation: Violation | None = session.exec(statement).first()
    if violation is None:
        raise AppError(
            404,
            "not_found",
            f"Không tìm thấy vi phạm {violation_id}.",
            f"Violation {violation_id} not found.",
        )
    return violation


def check_scope(session: Session, actor: Actor, violation: Violation) -> None:
    """AppError 403 unless the case is within the actor's sites or wards."""
    if not actor.scopes or violation.site_id in actor.scopes:
        return
    site = session.get(Site, violation.site_id)
    if site is None or site.ward not in actor.scopes:
        raise AppError(
            403,
            "out_of_scope",
            "Vi phạm này ngoài phạm vi được giao.",
            "This case is outside your assigned sites or wards.",
        )


def _held_by_other(claim: ReviewClaim | None, user_id: int, now: datetime) -> bool:
    return claim is not None and claim.user_id != user_id and claim.expires_at > now


def _claimed_error(claim: ReviewClaim) -> AppError:
    until = claim.expires_at.isoformat()
    return AppError(
        409,
        "claimed_by_other",
        "Vi phạm đang được cán bộ khác duyệt.",
        "Another reviewer holds this case.",
        detail={"user_id": claim.user_id, "until": until},
    )


def _take(
    session: Session, violation: Violation, actor: Actor, user_id: int, now: datetime
) -> ReviewClaim:
    claim = session.get(ReviewClaim, violation.id, populate_existing=True)
    if _held_by_other(claim, user_id, now):
        assert claim is not None
        raise _claimed_error(claim)
    renewing = claim is not None and claim.user_id == user_id and claim.expires_at > now
    if claim is None:
        claim = ReviewClaim(violation_id=violation.id or 0, user_id=user_id, expires_at=now)
        claim.claimed_at = now
    elif not renewing:
        claim.user_id, claim.claimed_at = user_id, now
    claim.renewed_at, claim.expires_at = now, now + REVIEW_CLAIM_TTL
    session.add(claim)
    session.flush()
    audit.append(
        session,
        actor=actor.audit_name,
        action="review.renewed" if renewing else "review.claimed",
        entity_type="violation",
        entity_id=violation.id or 0,
        after={"user_id": user_id, "expires_at": claim.expires_at},
    )
    return claim


def claim_for_review(
    session: Session, *, violation_id: int, actor: Actor, now: datetime | None = None
) -> ReviewClaim:
    """Hold a `pending_review` case for the actor (409 if another reviewer holds it)."""
    now, user_id = _now(now), _operator_id(actor)
    violation = lock_violation(session, violation_id)
    check_scope(session, actor, violation)
    if violation.status is not ViolationStatus.pending_review:
        raise AppError(
            409,
            "not_pending_review",
            "Vi phạm không còn ở trạng thái chờ duyệt.",
            f"The case is {violation.status.value}, not pending review.",
        )
    return _take(session, violation, actor, user_id, now)


def renew_claim(
    session: Session, *, violation_id: int, actor: Actor, now: datetime | None = None
) -> ReviewClaim:
    """Extend the actor's claim by another 10 minutes (409 if it was lost to someone else)."""
    now, user_id = _now(now), _operator_id(actor)
    violation = lock_violation(session, violation_id)
    claim = session.get(ReviewClaim, violation_id, populate_existing=True)
    if claim is None or claim.user_id != user_id:
        raise AppError(
            409,
            "claim_lost",
            "Bạn không còn giữ vi phạm này.",
            "You no longer hold this case.",
        )
    if violation.status is not ViolationStatus.pending_review:
        raise AppError(
            409,
            "not_pending_review",
            "Vi phạm không còn ở trạng thái chờ duyệt.",
            f"The case is {violation.status.value}, not pending review.",
        )
    return _take(session, violation, actor, user_id, now)


def release_claim(
    session: Session,
    *,
    violation_id: int,
    actor: Actor,
    skip: bool = True,
    now: datetime | None = None,
) -> None:
    """Give the case back to the queue; with `skip`, the actor's queue passes over it for now."""
    now, user_id = _now(now), _operator_id(actor)
    lock_violation(session, violation_id)
    claim = session.get(ReviewClaim, violation_id, populate_existing=True)
    if claim is None or claim.user_id != user_id:
        raise AppError(
            409, "not_claimed", "Bạn không giữ vi phạm này.", "You do not hold this case."
        )
    session.delete(claim)
    if skip:
        mark = session.get(ReviewSkip, (violation_id, user_id)) or ReviewSkip(
            violation_id=violation_id, user_id=user_id
        )
        mark.skipped_at = now
        session.add(mark)
    session.flush()
    audit.append(
        session,
        actor=actor.audit_name,
        action="review.skipped" if skip else "review.released",
        entity_type="violation",
        entity_id=violation_id,
        after={"user_id": user_id},
    )


def drop_claim(session: Session, violation_id: int) -> None:
    """Remove any claim on a case leaving `pending_review` (called by transition())."""
    claim = session.get(ReviewClaim, violation_id)
    if claim is not None:
        session.delete(claim)


def _queue_conditions(
    actor: Actor, user_id: int, filters: QueueFilters, now: datetime
) -> list[ColumnElement[bool]]:
    held_by_other = exists().where(
        col(ReviewClaim.violation_id) == col(Violation.id),
        col(ReviewClaim.expires_at) > now,
        col(ReviewClaim.user_id) != user_id,
    )
    conditions = [col(Violation.status) == ViolationStatus.pending_review, ~held_by_other]
    scope = scope_condition(actor)
    if scope is not None:
        conditions.append(scope)
    return conditions + filter_conditions(filters)


def _skipped_by(user_id: int, now: datetime) -> ColumnElement[bool]:
    return exists().where(
        col(ReviewSkip.violation_id) == col(Violation.id),
        col(ReviewSkip.user_id) == user_id,
        col(ReviewSkip.skipped_at) > now - SKIP_MEMORY,
    )


def _own_claim(session: Session, user_id: int, now: datetime) -> Violation | None:
    statement = (
        select(Violation)
        .join(ReviewClaim, col(ReviewClaim.violation_id) == col(Violation.id))
        .where(col(ReviewClaim.user_id) == user_id, col(ReviewClaim.expires_at) > now)
        .where(col(Violation.status) == ViolationStatus.pending_review)
        .order_by(col(ReviewClaim.claimed_at))
        .limit(1)
    )
    found: Violation | None = session.exec(statement).first()
    return found


def next_for_review(
    session: Session,
    *,
    actor: Actor,
    filters: QueueFilters | None = None,
    now: datetime | None = None,
) -> Violation | None:
    """Claim and return the oldest case waiting for review that nobody else holds, or None.

    A case the actor already holds comes back first (renewed); cases the actor skipped come
    last. Concurrent callers get different cases (PostgreSQL: SKIP LOCKED; SQLite: one writer).
    """
    now, user_id = _now(now), _operator_id(actor)
    filters = filters or QueueFilters()
    mine = _own_claim(session, user_id, now)
    if mine is not None:
        _take(session, lock_violation(session, mine.id or 0), actor, user_id, now)
        return mine
    conditions = _queue_conditions(actor, user_id, filters, now)
    skipped = _skipped_by(user_id, now)
    for extra in (~skipped, skipped):
        statement = (
            select(Violation)
            .where(and_(*conditions, extra))
            .order_by(col(Violation.occurred_at), col(Violation.id))
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        violation: Violation | None = session.exec(statement).first()
        if violation is not None:
            _take(session, violation, actor, user_id, now)
            return violation
    return None


def review_queue(
    session: Session,
    *,
    actor: Actor,
    filters: QueueFilters | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> list[Violation]:
    """A page of the review queue, oldest first, without the cases others hold."""
    now = _now(now)
    user_id = actor.user_id if actor.user_id is not None else -1
    conditions = _queue_conditions(actor, user_id, filters or QueueFilters(), now)
    statement = (
        select(Violation)
        .where(and_(*conditions))
        .order_by(col(Violation.occurred_at), col(Violation.id))
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(statement).all())
