"""The daily jobs and how they run: once per period (a local date), by the lock holder only.

Each job runs in its own transaction, which first checks that this instance still holds the
scheduler lock (fencing), then records the run in `scheduler_job_run` keyed by (job, period): a
period already done is skipped, so restarts, catch-up runs and a second instance never repeat
one. A failed run is recorded and retried at the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlmodel import Session

from central_server.accounts.jobs import purge_login_records
from central_server.alerts.jobs import alert_jobs
from central_server.db import session_scope
from central_server.devices.health_jobs import CHECK_JOB, DAILY_JOB, fleet_jobs
from central_server.evidence_store import EvidenceStore
from central_server.models import AuditHeadSignature
from central_server.reports.jobs import run_monthly, scheduled_period
from central_server.retention.service import apply_retention
from central_server.scheduler.audit_head import sign_head
from central_server.scheduler.lock import DbLock
from central_server.scheduler.models import JobRun
from central_server.workflow import jobs as workflow_jobs
from central_server.workflow.deadlines import local_date

logger = logging.getLogger(__name__)


def period_of(now: datetime) -> str:
    """The period a daily run belongs to: the local date in Vietnam."""
    return local_date(now).isoformat()


@dataclass(frozen=True)
class DailyJob:
    """A job run once per period: `run(session, now)` returns what it did (for the run record).

    `period(now)` names the period a run at `now` is for: the local date for daily jobs, the
    report month for the monthly report (which therefore runs once a month, caught up at start-up).
    """

    name: str
    run: Callable[[Session, datetime], Any]
    period: Callable[[datetime], str] = period_of


def daily_jobs(
    server_key: Ed25519PrivateKey, evidence_store: EvidenceStore | None = None
) -> list[DailyJob]:
    """The jobs in the order they run: the head is signed after today's changes, and the monthly
    report follows it (it quotes the head signed on its cut-off day). Retention and the report
    need the evidence store: without one (tests of the workflow jobs) they are left out."""
    jobs = [
        DailyJob("workflow.due_dates", workflow_jobs.fill_missing_due_dates),
        DailyJob("workflow.expire", workflow_jobs.expire_cases),
        DailyJob("workflow.overdue", workflow_jobs.flag_overdue),
        DailyJob("workflow.claims", workflow_jobs.purge_stale_claims),
        DailyJob("accounts.purge_login_records", purge_login_records),
        *[job for job in fleet_jobs() if job.name == DAILY_JOB],
    ]
    if evidence_store is not None:
        store = evidence_store
        jobs.append(
            DailyJob("retention.apply", lambda session, now: apply_retention(session, store, now))
        )
    jobs.append(
        DailyJob("audit.sign_head", lambda session, now: sign_head(session, server_key, now))
    )
    if evidence_store is not None:
        jobs.append(
            DailyJob(
                "reports.monthly",
                lambda session, now: run_monthly(session, store, now),
                period=scheduled_period,
            )
        )
    return jobs


def frequent_jobs() -> list[DailyJob]:
    """Jobs every heartbeat runs, whatever the hour, each once per its own period (the fleet
    check: a box offline at 00:10 must not wait for the daily run)."""
    return [*(job for job in fleet_jobs() if job.name == CHECK_JOB), *alert_jobs()]


def _summary(result: Any) -> dict[str, Any]:
    if isinstance(result, AuditHeadSignature):
        return {"event_id": result.event_id, "head_hash": result.head_hash}
    if isinstance(result, dict):
        return result
    return {} if result is None else {"count": result}


def run_job(engine: Engine, lock: DbLock, job: DailyJob, now: datetime) -> str:
    """Run `job` for the period of `now` unless done; return ran / done / not_holder / failed."""
    period = job.period(now)
    try:
        with session_scope(engine) as session:
            if not lock.held_in(session, now):
                return "not_holder"
            record = session.get(JobRun, (job.name, period))
            if record is not None and record.ok:
                return "done"
            record = record or JobRun(job=job.name, period=period)
            record.holder, record.started_at = lock.holder, now
            summary = _summary(job.run(session, now))
            record.ok, record.finished_at, record.result = True, now, summary
            session.add(record)
    except Exception as exc:
        logger.exception("scheduled job %s failed for %s", job.name, period)
        _record_failure(engine, lock, job, period, now, exc)
        return "failed"
    logger.info("scheduled job %s done for %s: %s", job.name, period, summary)
    return "ran"


def _record_failure(
    engine: Engine, lock: DbLock, job: DailyJob, period: str, now: datetime, exc: Exception
) -> None:
    try:
        with session_scope(engine) as session:
            record = session.get(JobRun, (job.name, period)) or JobRun(job=job.name, period=period)
            record.holder, record.started_at, record.ok = lock.holder, now, False
            record.result = {"error": f"{type(exc).__name__}: {exc}"[:1000]}
            session.add(record)
    except Exception:
        logger.exception("could not record the failure of %s", job.name)


def run_due_jobs(
    engine: Engine, lock: DbLock, jobs: list[DailyJob], now: datetime
) -> dict[str, str]:
    """Run every job not yet done for today's period, in order; their outcomes by name."""
    return {job.name: run_job(engine, lock, job, now) for job in jobs}
