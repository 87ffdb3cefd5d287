"""The scheduler process: APScheduler 3.11 triggers, the database lock, catch-up after downtime.

Two triggers, both coalesced (a backlog of missed firings runs once) and never overlapping (one
worker thread): a heartbeat every few seconds that takes or renews the lock and, once the day's
run time has passed, runs whatever the day still lacks (the catch-up after a restart or a
takeover), and a cron trigger at the run time itself. Only the lock holder runs jobs; a standby
keeps trying the lock and takes over when the holder's lease lapses.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, time, timedelta, timezone

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from central_server.evidence_store import EvidenceStore
from central_server.scheduler.jobs import DailyJob, daily_jobs, frequent_jobs, run_due_jobs
from central_server.scheduler.lock import DbLock
from central_server.workflow.deadlines import VN_TZ

logger = logging.getLogger(__name__)

DEFAULT_RUN_AT = time(0, 30)  # local time in Vietnam: after midnight, before the working day
DEFAULT_HEARTBEAT = timedelta(seconds=20)
DEFAULT_LOCK_TTL = timedelta(seconds=90)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SchedulerService:
    """One scheduler instance: start(), then stop() (releases the lock)."""

    def __init__(
        self,
        engine: Engine,
        server_key: Ed25519PrivateKey,
        *,
        run_at: time = DEFAULT_RUN_AT,
        heartbeat: timedelta = DEFAULT_HEARTBEAT,
        lock_ttl: timedelta = DEFAULT_LOCK_TTL,
        jobs: list[DailyJob] | None = None,
        frequent: list[DailyJob] | None = None,
        evidence_store: EvidenceStore | None = None,
    ) -> None:
        if lock_ttl <= heartbeat * 2:
            raise ValueError("the lock must outlive at least two heartbeats")
        self.engine = engine
        self.run_at = run_at
        self.heartbeat = heartbeat
        self.lock = DbLock(engine, ttl=lock_ttl)
        self.jobs = jobs if jobs is not None else daily_jobs(server_key, evidence_store)
        self.frequent = frequent if frequent is not None else frequent_jobs()
        self.holding = False
        self.last_outcomes: dict[str, str] = {}
        self.ticked = threading.Event()  # set after each heartbeat (lets callers observe progress)
        self._scheduler = BackgroundScheduler(
            timezone=VN_TZ,
            executors={
                "default": ThreadPoolExecutor(1, pool_kwargs={"thread_name_prefix": "tw-sched"})
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def start(self) -> None:
        """Schedule the heartbeat (first one now) and the daily run, and start the thread."""
        self._scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=self.heartbeat.total_seconds()),
            id="heartbeat",
            next_run_time=datetime.now(VN_TZ),
        )
        self._scheduler.add_job(
            self.run_daily,
            CronTrigger(hour=self.run_at.hour, minute=self.run_at.minute, timezone=VN_TZ),
            id="daily",
        )
        self._scheduler.start()
        logger.info(
            "scheduler %s started: daily run at %s ICT", self.lock.holder, self.run_at.isoformat()
        )

    def stop(self) -> None:
        """Stop the triggers, wait for a running job, and give up the lock."""
        self._scheduler.shutdown(wait=True)
        if self.holding:
            self.lock.release()
            self.holding = False
        logger.info("scheduler %s stopped", self.lock.holder)

    def _hold(self, now: datetime) -> bool:
        try:
            held = self.lock.acquire(now)
        except Exception:
            # A busy database (SQLite under a long write) is no reason to stop; try again later.
            logger.exception("scheduler lock: could not renew")
            return self.holding
        if held != self.holding:
            logger.warning("scheduler %s %s the lock", self.lock.holder, "took" if held else "lost")
        self.holding = held
        return held

    def _run_time_passed(self, now: datetime) -> bool:
        return now.astimezone(VN_TZ).time() >= self.run_at

    def tick(self, now: datetime | None = None) -> None:
        """Heartbeat: hold the lock, and catch up on today's jobs once their time has come."""
        now = now or _utcnow()
        try:
            if not self._hold(now):
                return
            if self.frequent:
                run_due_jobs(self.engine, self.lock, self.frequent, now)
            if self._run_time_passed(now):
                self.last_outcomes = run_due_jobs(self.engine, self.lock, self.jobs, now)
        finally:
            self.ticked.set()

    def run_daily(self, now: datetime | None = None) -> dict[str, str]:
        """The daily run (the cron trigger, or `--once`): every job not done today."""
        now = now or _utcnow()
        if not self._hold(now):
            logger.info("daily run skipped: another instance holds the scheduler lock")
            return {}
        self.last_outcomes = run_due_jobs(self.engine, self.lock, self.jobs, now)
        return self.last_outcomes
