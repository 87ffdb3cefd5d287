"""The daily jobs: expiry, overdue flags, due dates, the signed audit head; once per day."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update
from sqlmodel import Session, col, select

from central_server.audit import append
from central_server.models import (
    AuditEvent,
    AuditHeadSignature,
    ServerKey,
    Violation,
    ViolationStatus,
)
from central_server.scheduler.audit_head import verify_head_signature
from central_server.scheduler.jobs import DailyJob, daily_jobs, period_of, run_due_jobs
from central_server.scheduler.lock import DbLock
from central_server.scheduler.models import JobRun
from tests.factories_db import make_violation, make_violation_in_state
from tests.fixtures.db import Database

S = ViolationStatus
NOW = datetime.now(timezone.utc)


def _holding(db: Database) -> DbLock:
    lock = DbLock(db.engine, holder="test", ttl=timedelta(days=30))
    assert lock.acquire(NOW)
    return lock


def _get(db: Database, violation_id: int | None) -> Violation:
    with db.session() as session:
        violation = session.get(Violation, violation_id)
    assert violation is not None
    return violation


def test_open_cases_past_the_limitation_period_expire_with_an_audit_row(
    db: Database, server_key: Ed25519PrivateKey
) -> None:
    old = NOW - timedelta(days=400)
    with db.session() as session:
        stale = make_violation_in_state(
            session, S.confirmed, approved_by=1, claimed_by=2, occurred_at=old
        )
        pending = make_violation(session, occurred_at=old)  # never approved: nothing to expire
        recent = make_violation_in_state(session, S.approved, approved_by=1)
    outcomes = run_due_jobs(db.engine, _holding(db), daily_jobs(server_key), NOW)
    assert set(outcomes.values()) == {"ran"}
    assert _get(db, stale.id).status is S.expired
    assert _get(db, pending.id).status is S.pending_review
    assert _get(db, recent.id).status is S.approved
    with db.session() as session:
        event = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "violation.expire")
        ).one()
    assert (event.actor, event.entity_id) == ("system:scheduler", str(stale.id))


def test_overdue_flags_follow_the_deadlines(db: Database, server_key: Ed25519PrivateKey) -> None:
    with db.session() as session:
        late = make_violation_in_state(
            session, S.approved, approved_by=1, occurred_at=NOW - timedelta(days=12)
        )
        on_time = make_violation_in_state(
            session, S.approved, approved_by=1, occurred_at=NOW - timedelta(days=2)
        )
        notified = make_violation_in_state(
            session, S.notified, approved_by=1, claimed_by=2, occurred_at=NOW - timedelta(days=12)
        )
    run_due_jobs(db.engine, _holding(db), daily_jobs(server_key), NOW)
    assert _get(db, late.id).overdue_notice
    assert not _get(db, on_time.id).overdue_notice
    assert not _get(db, notified.id).overdue_notice  # the notice went out
    with db.session() as session:
        overdue = session.exec(select(col(Violation.id)).where(col(Violation.overdue_notice))).all()
    assert overdue == [late.id]


def test_each_job_runs_once_a_day_and_again_the_next(
    db: Database, server_key: Ed25519PrivateKey
) -> None:
    lock, jobs = _holding(db), daily_jobs(server_key)
    assert set(run_due_jobs(db.engine, lock, jobs, NOW).values()) == {"ran"}
    assert set(run_due_jobs(db.engine, lock, jobs, NOW + timedelta(minutes=5)).values()) == {"done"}
    assert set(run_due_jobs(db.engine, lock, jobs, NOW + timedelta(days=1)).values()) == {"ran"}
    with db.session() as session:
        runs = session.exec(select(JobRun)).all()
    assert len(runs) == 2 * len(jobs) and all(run.ok for run in runs)


def test_an_instance_without_the_lock_runs_nothing(
    db: Database, server_key: Ed25519PrivateKey
) -> None:
    _holding(db)
    other = DbLock(db.engine, holder="standby")
    outcomes = run_due_jobs(db.engine, other, daily_jobs(server_key), NOW)
    assert set(outcomes.values()) == {"not_holder"}
    with db.session() as session:
        assert session.exec(select(JobRun)).all() == []


def test_a_failed_job_is_recorded_and_retried(db: Database) -> None:
    lock, calls = _holding(db), []

    def flaky(session: Session, now: datetime) -> Any:
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("database hiccup")
        return 3

    jobs = [DailyJob("flaky", flaky)]
    assert run_due_jobs(db.engine, lock, jobs, NOW) == {"flaky": "failed"}
    with db.session() as session:
        run = session.get(JobRun, ("flaky", period_of(NOW)))
        assert run is not None and not run.ok and "hiccup" in str(run.result)
    assert run_due_jobs(db.engine, lock, jobs, NOW) == {"flaky": "ran"}
    with db.session() as session:
        run = session.get(JobRun, ("flaky", period_of(NOW)))
        assert run is not None and run.ok and run.result == {"count": 3}


def test_violations_without_due_dates_get_them(db: Database, server_key: Ed25519PrivateKey) -> None:
    with db.session() as session:
        violation_id = make_violation(session).id
        session.execute(
            update(Violation.__table__).values(notice_due_at=None, expires_at=None)  # type: ignore[attr-defined]
        )
    run_due_jobs(db.engine, _holding(db), daily_jobs(server_key), NOW)
    violation = _get(db, violation_id)
    assert violation.notice_due_at is not None and violation.expires_at is not None


def test_the_chain_head_is_signed_and_the_signature_checks(
    db: Database, server_key: Ed25519PrivateKey
) -> None:
    with db.session() as session:
        for n in range(3):
            append(
                session, actor="system:test", action="test.event", entity_type="test", entity_id=n
            )
    run_due_jobs(db.engine, _holding(db), daily_jobs(server_key), NOW)
    with db.session() as session:
        signature = session.exec(select(AuditHeadSignature)).one()
        key = session.get(ServerKey, signature.key_id)
        head_event = session.get(AuditEvent, signature.event_id)
    assert key is not None and head_event is not None
    assert signature.event_id == 3 and signature.head_hash == head_event.hash
    assert verify_head_signature(signature, key.public_key)
    signature.head_hash = "0" * 64  # a rewritten history would need a new signature
    assert not verify_head_signature(signature, key.public_key)


def test_an_empty_chain_is_not_signed(db: Database, server_key: Ed25519PrivateKey) -> None:
    run_due_jobs(db.engine, _holding(db), daily_jobs(server_key), NOW)
    with db.session() as session:
        assert session.exec(select(AuditHeadSignature)).all() == []
