"""A box's history: daily figures (rolled up after the day, caught up after downtime), uptime over
any period for the reports, and the scheduler running the fleet jobs."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import col, select

from central_server.devices.health_jobs import CHECK_JOB, check_period, fleet_jobs, roll_up_days
from central_server.devices.history import local_day_bounds, uptime_by_device
from central_server.devices.models_health import DeviceDaily
from central_server.scheduler.models import JobRun
from central_server.scheduler.runner import SchedulerService
from protocol.keys import generate_private_key
from tests.central_server.devices.fleet_helpers import T0, THRESHOLDS, beat, enrol, offline
from tests.factories_db import make_packet
from tests.fixtures.db import Database

BOX, SILENT = "dh-cam-001", "dh-cam-002"
DAY1, DAY2, DAY3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)
LOCAL_0800 = T0  # 2026-03-02 08:00 in Vietnam


def _hours(n: float) -> timedelta:
    return timedelta(hours=n)


def _history(db: Database) -> None:
    """BOX online 08:00-14:00 and 20:00-02:00 (next day), two packets on DAY2."""
    with db.session() as session:
        for device_id in (BOX, SILENT):
            enrol(session, device_id, created_at=LOCAL_0800 - _hours(24))
        beat(session, BOX, LOCAL_0800)
        beat(session, BOX, LOCAL_0800 + _hours(6), offline(BOX, LOCAL_0800))
        beat(session, BOX, LOCAL_0800 + _hours(12))
        beat(session, BOX, LOCAL_0800 + _hours(18), offline(BOX, LOCAL_0800 + _hours(12)))
        for hour in (9, 10):
            make_packet(session, device_id=BOX, received_at=LOCAL_0800 + _hours(hour - 8))


def _daily(db: Database) -> dict[tuple[str, date], DeviceDaily]:
    with db.session() as session:
        rows = session.exec(select(DeviceDaily)).all()
    return {(row.device_id, row.day): row for row in rows}


def test_finished_days_are_rolled_up_from_the_intervals_even_for_a_silent_box(
    db: Database,
) -> None:
    _history(db)
    now = datetime.combine(date(2026, 3, 4), time(1, 0), LOCAL_0800.tzinfo) - _hours(7)
    with db.session() as session:
        assert roll_up_days(session, now) == {"days": 3, "rows": 6}
    daily = _daily(db)
    day2 = daily[(BOX, DAY2)]
    assert day2.final and day2.online_s == 10 * 3600  # 08-14 and 20-24
    assert day2.uptime_share == pytest.approx(10 / 24, abs=1e-6)
    assert (day2.packets, day2.heartbeats, day2.offline_events) == (2, 2, 1)
    assert (daily[(BOX, DAY3)].online_s, daily[(BOX, DAY3)].offline_events) == (2 * 3600, 1)
    assert daily[(BOX, DAY1)].uptime_share == 0.0
    assert {daily[(SILENT, d)].uptime_share for d in (DAY1, DAY2, DAY3)} == {0.0}
    with db.session() as session:  # done already: nothing to do again
        assert roll_up_days(session, now + _hours(2)) == {"days": 0, "rows": 0}


def test_uptime_for_the_report_counts_an_open_interval_until_now(db: Database) -> None:
    _history(db)
    with db.session() as session:
        beat(session, BOX, LOCAL_0800 + _hours(30))  # back at 14:00 on DAY3
        start, end = local_day_bounds(DAY2)[0], local_day_bounds(DAY3)[1]
        uptime = uptime_by_device(session, start, end, now=LOCAL_0800 + _hours(31))
    box = uptime[BOX]
    assert box.online_s == (10 + 2 + 1) * 3600 and box.intervals == 3
    assert box.share == pytest.approx(13 / 39, abs=1e-6)  # of the period up to now
    assert SILENT not in uptime


def test_the_check_runs_once_per_slot(db: Database) -> None:
    assert check_period(T0, 60) == "2026-03-02T08:00:00"
    assert check_period(T0 + timedelta(seconds=59), 60) == "2026-03-02T08:00:00"
    assert check_period(T0 + timedelta(seconds=61), 300) == "2026-03-02T08:00:00"
    assert check_period(T0 + timedelta(seconds=301), 300) == "2026-03-02T08:05:00"


def test_the_scheduler_runs_the_fleet_jobs_and_prunes_old_check_records(db: Database) -> None:
    key: Ed25519PrivateKey = generate_private_key()
    _history(db)
    service = SchedulerService(
        db.engine, key, run_at=time(0, 0), jobs=fleet_jobs(THRESHOLDS, 60), frequent=[]
    )
    try:
        service.tick(LOCAL_0800 + _hours(20))
        assert set(service.last_outcomes.values()) == {"ran"}
        service.tick(LOCAL_0800 + _hours(20) + timedelta(seconds=5))
        assert set(service.last_outcomes.values()) == {"done"}
        service.tick(LOCAL_0800 + _hours(20) + timedelta(seconds=65))
        assert service.last_outcomes["devices.fleet_check"] == "ran"
        service.tick(LOCAL_0800 + _hours(24 * 4))
    finally:
        service.lock.release()  # ticked by hand: never started, nothing else to stop
    with db.session() as session:
        runs = session.exec(select(JobRun).where(col(JobRun.job) == CHECK_JOB)).all()
    assert [run.period for run in runs] == ["2026-03-06T08:00:00"]
    assert _daily(db)[(BOX, DAY2)].final
