"""The monthly job in the scheduler: on the 30th, caught up after downtime, once per period."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from central_server.evidence_store import FilesystemEvidenceStore
from central_server.reports.models import MonthlyReport
from central_server.scheduler.jobs import daily_jobs, run_due_jobs
from central_server.scheduler.lock import DbLock
from central_server.scheduler.runner import SchedulerService
from central_server.workflow.deadlines import VN_TZ
from tests.central_server.reports.conftest import AuditClock, Month
from tests.fixtures.db import Database


def _local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def _reports(db: Database) -> list[tuple[str, int, str]]:
    with db.session() as session:
        rows = session.exec(select(MonthlyReport).order_by(col(MonthlyReport.id))).all()
        return [(r.period, r.revision, r.generated_by) for r in rows]


def _run(db: Database, key: Ed25519PrivateKey, store: FilesystemEvidenceStore, at: datetime) -> str:
    lock = DbLock(db.engine, holder="one", ttl=timedelta(days=400))
    assert lock.acquire(at)
    return run_due_jobs(db.engine, lock, daily_jobs(key, store), at)["reports.monthly"]


def test_the_report_is_made_on_the_30th_once(
    db: Database,
    month: Month,
    server_key: Ed25519PrivateKey,
    store: FilesystemEvidenceStore,
    clock: AuditClock,
) -> None:
    clock.now = _local(2026, 11, 29, 0, 40)
    assert _run(db, server_key, store, clock.now) == "ran"  # October's, owed since 30 October
    clock.now = _local(2026, 11, 30, 0, 40)
    assert _run(db, server_key, store, clock.now) == "ran"
    clock.now = _local(2026, 11, 30, 6, 0)
    assert _run(db, server_key, store, clock.now) == "done"
    clock.now = _local(2026, 12, 1, 0, 40)
    assert _run(db, server_key, store, clock.now) == "done"
    assert _reports(db) == [("2026-10", 1, "system:scheduler"), ("2026-11", 1, "system:scheduler")]
    with db.session() as session:
        november = session.exec(select(MonthlyReport).where(col(MonthlyReport.period) == "2026-11"))
        assert november.one().totals["detected"] == month.expected["detected"]


@pytest.mark.parametrize(
    ("day", "period"),
    [((2024, 2, 29), "2024-02"), ((2026, 2, 28), "2026-02"), ((2025, 2, 28), "2025-02")],
)
def test_february_s_report_comes_on_its_last_day(
    db: Database,
    server_key: Ed25519PrivateKey,
    store: FilesystemEvidenceStore,
    clock: AuditClock,
    day: tuple[int, int, int],
    period: str,
) -> None:
    clock.now = _local(*day, 1, 0)
    _run(db, server_key, store, clock.now)
    assert [p for p, *_ in _reports(db)] == [period]


def _service(
    db: Database, key: Ed25519PrivateKey, store: FilesystemEvidenceStore
) -> SchedulerService:
    return SchedulerService(db.engine, key, run_at=time(0, 30), evidence_store=store)


def test_a_run_missed_during_downtime_is_made_at_start_up(
    db: Database, server_key: Ed25519PrivateKey, store: FilesystemEvidenceStore, clock: AuditClock
) -> None:
    # Down from the 29th to 3 December: the first heartbeat after the restart makes it.
    clock.now = _local(2026, 12, 3, 8, 15)
    _service(db, server_key, store).tick(clock.now)
    assert _reports(db) == [("2026-11", 1, "system:scheduler")]


def test_two_scheduler_processes_make_one_report(
    db: Database, server_key: Ed25519PrivateKey, store: FilesystemEvidenceStore, clock: AuditClock
) -> None:
    first, second = _service(db, server_key, store), _service(db, server_key, store)
    clock.now = _local(2026, 11, 30, 0, 31)
    second.tick(clock.now)
    first.tick(clock.now)
    second.tick(clock.now + timedelta(minutes=1))
    assert first.last_outcomes == {}
    assert _reports(db) == [("2026-11", 1, "system:scheduler")]


def test_the_unique_key_refuses_a_second_first_revision(
    db: Database, server_key: Ed25519PrivateKey, store: FilesystemEvidenceStore, clock: AuditClock
) -> None:
    # Were two schedulers ever to race past the lock, the database keeps one report.
    clock.now = _local(2026, 11, 30, 1, 0)
    _run(db, server_key, store, clock.now)
    with db.session() as session:
        row = session.exec(select(MonthlyReport)).one()
        copy = MonthlyReport.model_validate(row.model_dump(exclude={"id"}))
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(copy)
        session.flush()
