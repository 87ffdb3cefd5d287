"""Review claims: one reviewer per case, 10 minutes renewed while working, skip, the queue."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import col, select

from central_server.errors import AppError
from central_server.models import AuditEvent
from central_server.roles import Actor
from central_server.workflow.claims import REVIEW_CLAIM_TTL
from central_server.workflow.filters import QueueFilters
from central_server.workflow.models import ReviewClaim
from central_server.workflow.service import (
    Action,
    claim_for_review,
    next_for_review,
    release_claim,
    renew_claim,
    review_queue,
)
from protocol.enums import BehaviourCode
from tests.central_server.workflow.conftest import Staff, act
from tests.factories_db import make_violation
from tests.fixtures.db import Database

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def _cases(db: Database, count: int, **overrides: object) -> list[int]:
    with db.session() as session:
        ids = [
            make_violation(session, occurred_at=T0 + timedelta(minutes=i), **overrides).id
            for i in range(count)
        ]
    return [i for i in ids if i is not None]


def _claim(db: Database, violation_id: int, actor: Actor, now: datetime) -> ReviewClaim:
    with db.session() as session:
        return claim_for_review(session, violation_id=violation_id, actor=actor, now=now)


def _next(
    db: Database, actor: Actor, now: datetime, filters: QueueFilters | None = None
) -> int | None:
    """The id of the case the queue hands `actor` (now claimed by them), or None."""
    with db.session() as session:
        found = next_for_review(session, actor=actor, filters=filters, now=now)
        return None if found is None else found.id


def test_a_claimed_case_is_held_against_other_reviewers_for_ten_minutes(
    db: Database, staff: Staff
) -> None:
    [case] = _cases(db, 1)
    claim = _claim(db, case, staff.operator, T0)
    assert claim.expires_at == T0 + REVIEW_CLAIM_TTL
    with pytest.raises(AppError) as caught:
        _claim(db, case, staff.operator2, T0 + timedelta(minutes=9))
    assert caught.value.status_code == 409 and caught.value.code == "claimed_by_other"
    # Abandoned: after ten minutes without renewal another reviewer may take it.
    taken = _claim(db, case, staff.operator2, T0 + timedelta(minutes=11))
    assert taken.user_id == staff.operator2.user_id


def test_renewing_keeps_the_case_and_a_lost_claim_cannot_be_renewed(
    db: Database, staff: Staff
) -> None:
    [case] = _cases(db, 1)
    _claim(db, case, staff.operator, T0)
    with db.session() as session:
        renewed = renew_claim(
            session, violation_id=case, actor=staff.operator, now=T0 + timedelta(minutes=8)
        )
    assert renewed.expires_at == T0 + timedelta(minutes=18)
    _claim(db, case, staff.operator2, T0 + timedelta(minutes=19))
    with pytest.raises(AppError) as caught, db.session() as session:
        renew_claim(
            session, violation_id=case, actor=staff.operator, now=T0 + timedelta(minutes=20)
        )
    assert caught.value.code == "claim_lost"


def test_another_reviewer_cannot_decide_a_case_someone_holds(db: Database, staff: Staff) -> None:
    [case] = _cases(db, 1)
    _claim(db, case, staff.operator, datetime.now(timezone.utc))
    with pytest.raises(AppError) as caught:
        act(db, case, Action.approve, staff.operator2)
    assert caught.value.status_code == 409
    act(db, case, Action.approve, staff.operator)
    with db.session() as session:
        assert session.get(ReviewClaim, case) is None  # the decision ends the claim


def test_the_queue_hands_out_the_oldest_case_nobody_holds(db: Database, staff: Staff) -> None:
    first, second, third = _cases(db, 3)
    assert _next(db, staff.operator, T0) == first
    assert _next(db, staff.operator2, T0) == second
    assert _next(db, staff.operator, T0 + timedelta(minutes=1)) == first  # still mine, renewed
    with db.session() as session:
        page = review_queue(session, actor=staff.operator, now=T0)
        assert [v.id for v in page] == [first, third]  # not the one operator2 holds


def test_skipping_returns_the_case_to_others_and_to_the_back_of_my_queue(
    db: Database, staff: Staff
) -> None:
    first, second = _cases(db, 2)
    assert _next(db, staff.operator, T0) == first
    with db.session() as session:
        release_claim(session, violation_id=first, actor=staff.operator, now=T0)
    assert _next(db, staff.operator, T0) == second
    assert _next(db, staff.operator2, T0) == first
    with db.session() as session:
        release_claim(session, violation_id=second, actor=staff.operator, skip=False, now=T0)
        release_claim(session, violation_id=first, actor=staff.operator2, skip=False, now=T0)
    # Only skipped cases left for me: they still come, oldest first.
    assert _next(db, staff.operator, T0) == second


def test_the_queue_filters_and_ends(db: Database, staff: Staff) -> None:
    _cases(db, 2)
    [helmet] = _cases(db, 1, behaviour=BehaviourCode.no_helmet)
    only_helmets = QueueFilters(behaviours=frozenset({BehaviourCode.no_helmet}))
    assert _next(db, staff.operator, T0, only_helmets) == helmet
    act(db, helmet, Action.approve, staff.operator)
    assert _next(db, staff.operator, T0, only_helmets) is None


def test_only_operators_claim_and_only_pending_cases(db: Database, staff: Staff) -> None:
    first, second = _cases(db, 2)
    with pytest.raises(AppError) as caught:
        _claim(db, first, staff.officer, T0)
    assert caught.value.status_code == 403
    act(db, second, Action.approve, staff.operator)
    with pytest.raises(AppError) as caught:
        _claim(db, second, staff.operator, T0)
    assert caught.value.code == "not_pending_review"


def test_claims_renewals_and_skips_are_audited(db: Database, staff: Staff) -> None:
    [case] = _cases(db, 1)
    _claim(db, case, staff.operator, T0)
    _claim(db, case, staff.operator, T0 + timedelta(minutes=5))
    with db.session() as session:
        release_claim(session, violation_id=case, actor=staff.operator, now=T0)
        actions = session.exec(select(col(AuditEvent.action)).order_by(col(AuditEvent.id))).all()
    assert actions == ["review.claimed", "review.renewed", "review.skipped"]
    with db.session() as session:
        assert session.get(ReviewClaim, case) is None
