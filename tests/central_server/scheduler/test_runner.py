"""The scheduler process: APScheduler triggers, one instance at a time, catch-up, the command."""

from __future__ import annotations

import json
from datetime import time, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import select

from central_server.scheduler import cli
from central_server.scheduler.models import JobRun
from central_server.scheduler.runner import SchedulerService
from tests.fixtures.db import Database

# Generous: only a hung scheduler takes this long; nothing is asserted about durations.
WAIT_S = 60


def _service(db: Database, key: Ed25519PrivateKey) -> SchedulerService:
    return SchedulerService(
        db.engine,
        key,
        run_at=time(0, 0),  # already past today: the first heartbeat catches up
        heartbeat=timedelta(seconds=0.2),
        lock_ttl=timedelta(seconds=2),
    )


def _runs(db: Database) -> list[JobRun]:
    with db.session() as session:
        return list(session.exec(select(JobRun)).all())


def _next_tick(service: SchedulerService) -> None:
    service.ticked.clear()
    assert service.ticked.wait(WAIT_S), "the scheduler stopped ticking"


def test_the_holder_catches_up_at_start_and_a_standby_takes_over_when_it_stops(
    db: Database, server_key: Ed25519PrivateKey
) -> None:
    active, standby = _service(db, server_key), _service(db, server_key)
    active.start()
    try:
        _next_tick(active)
        _next_tick(active)
        assert active.holding
        assert {run.job for run in _runs(db)} == {job.name for job in active.jobs + active.frequent}
        assert {run.holder for run in _runs(db)} == {active.lock.holder}
        standby.start()
        _next_tick(standby)
        assert not standby.holding
    finally:
        active.stop()
    try:
        _next_tick(standby)
        _next_tick(standby)
        assert standby.holding
        # Today's jobs were done by the first instance: the standby does not repeat them (the
        # every-heartbeat jobs may meet a new period, so only the daily ones are compared).
        assert set(standby.last_outcomes.values()) <= {"done"}
        daily = {job.name for job in standby.jobs}
        assert {run.holder for run in _runs(db) if run.job in daily} == {active.lock.holder}
    finally:
        standby.stop()


def test_the_lock_must_outlive_its_heartbeat(db: Database, server_key: Ed25519PrivateKey) -> None:
    with pytest.raises(ValueError, match="heartbeats"):
        SchedulerService(
            db.engine, server_key, heartbeat=timedelta(seconds=30), lock_ttl=timedelta(seconds=45)
        )


def test_the_command_runs_today_s_jobs_once(
    db: Database,
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TW_DATABASE_URL", db.url)
    monkeypatch.setenv("TW_DATA_DIR", str(clean_env))
    assert cli.main(["--once"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert set(first.values()) == {"ran"}
    assert cli.main(["--once"]) == 0
    assert set(json.loads(capsys.readouterr().out).values()) == {"done"}
    assert (clean_env / "keys" / "server_ed25519.pem").exists()
