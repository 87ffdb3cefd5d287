"""Scheduled fleet-health work: the frequent check and the daily figures (scheduler jobs).

`check_fleet` closes the online interval of a box whose heartbeats stopped, raises the alarms
that only time can raise (offline too long, sequence gaps) and clears those whose cause went.
`roll_up_days` finalises each box's figures for every finished day not yet final (catching up
after downtime), so uptime reports read a row per box and day even for a box that was silent.
Both follow the scheduler's `DailyJob` pattern; the check's period is a time slot of
`fleet_check_every_s`, so it runs once per slot (its own old run records are pruned).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from central_server.devices import alarms
from central_server.devices.alarms import FleetThresholds
from central_server.devices.health import lock_health, went_offline
from central_server.devices.history import (
    daily_row,
    fill_day,
    local_day_bounds,
    packets_by_device,
    uptime_by_device,
)
from central_server.devices.models_health import (
    AlarmCode,
    DeviceAlarm,
    DeviceDaily,
    DeviceHealth,
    IntervalEnd,
)
from central_server.models import Device, SequenceGap
from central_server.scheduler.models import JobRun
from central_server.settings import get_settings
from central_server.workflow.deadlines import VN_TZ, local_date

if TYPE_CHECKING:
    from central_server.scheduler.jobs import DailyJob

logger = logging.getLogger(__name__)

CHECK_JOB = "devices.fleet_check"
DAILY_JOB = "devices.daily_figures"
CATCH_UP_DAYS = 31  # how far back missing daily figures are filled in after downtime
KEEP_CHECK_RUNS = timedelta(days=2)


def check_fleet(session: Session, now: datetime, thresholds: FleetThresholds) -> dict[str, int]:
    """Time out silent boxes and reconcile the time-driven alarms; counts of what changed."""
    done: dict[str, int] = defaultdict(int)
    gaps = _open_gaps(session)
    revoked = set(session.exec(select(Device.id).where(col(Device.revoked_at).is_not(None))).all())
    watched = set(session.exec(select(DeviceHealth.device_id)).all()) | set(gaps)
    for device_id in sorted(watched):
        health = lock_health(session, device_id)
        if device_id in revoked:
            done["cleared"] += _clear_all(session, device_id, now)
            continue
        timeout = timedelta(seconds=thresholds.heartbeat_timeout_s)
        last = health.last_heartbeat_at
        if health.online and last is not None and now - last > timeout:
            went_offline(session, health, last, IntervalEnd.timeout)
            done["timed_out"] += 1
        findings: dict[AlarmCode, alarms.Finding | None] = {
            AlarmCode.sequence_gap: alarms.gap_rule(gaps.get(device_id, []))
        }
        if health.state is not None:
            offline_after = thresholds.offline_after_s
            findings[AlarmCode.offline] = alarms.offline_rule(
                health.offline_since, now, offline_after
            )
        quiet = timedelta(seconds=thresholds.dropped_clear_after_s)
        if health.last_drop_at is None or now - health.last_drop_at >= quiet:
            findings[AlarmCode.evidence_dropped] = None
        done["cleared"] += alarms.apply_findings(session, device_id, findings, now)
        session.add(health)
    done["open_alarms"] = _count_open(session)
    _prune_check_runs(session, now)
    return dict(done)


def _open_gaps(session: Session) -> dict[str, list[tuple[int, int]]]:
    statement = (
        select(SequenceGap)
        .where(col(SequenceGap.resolved_at).is_(None))
        .order_by(col(SequenceGap.device_id), col(SequenceGap.from_seq))
    )
    gaps: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for gap in session.exec(statement).all():
        gaps[gap.device_id].append((gap.from_seq, gap.to_seq))
    return gaps


def _clear_all(session: Session, device_id: str, now: datetime) -> int:
    return alarms.apply_findings(session, device_id, dict.fromkeys(AlarmCode), now)


def _count_open(session: Session) -> int:
    statement = (
        select(func.count()).select_from(DeviceAlarm).where(col(DeviceAlarm.cleared_at).is_(None))
    )
    return int(session.exec(statement).one())


def _prune_check_runs(session: Session, now: datetime) -> None:
    # One run record per slot: keep two days of them for diagnosis, not a year.
    oldest = check_period(now - KEEP_CHECK_RUNS, 60)
    session.execute(delete(JobRun).where(col(JobRun.job) == CHECK_JOB, col(JobRun.period) < oldest))


def roll_up_days(session: Session, now: datetime) -> dict[str, int]:
    """Finalise each box's figures of every finished local day not final yet."""
    today = local_date(now)
    first = today - timedelta(days=CATCH_UP_DAYS)
    pending: dict[date, list[str]] = defaultdict(list)
    for device in session.exec(select(Device)).all():
        start = max(first, local_date(device.created_at), _after_last_final(session, device.id))
        end = local_date(device.revoked_at) + timedelta(days=1) if device.revoked_at else today
        day = start
        while day < min(end, today):
            pending[day].append(device.id)
            day += timedelta(days=1)
    for day, device_ids in sorted(pending.items()):
        start, end = local_day_bounds(day)
        uptimes = uptime_by_device(session, start, end, now, device_ids)
        packets = packets_by_device(session, start, end)
        for device_id in device_ids:
            lock_health(session, device_id)
            row = daily_row(session, device_id, day)
            fill_day(row, uptimes.get(device_id), packets.get(device_id, 0), now, final=True)
            session.add(row)
    session.flush()
    return {"days": len(pending), "rows": sum(len(ids) for ids in pending.values())}


def _after_last_final(session: Session, device_id: str) -> date:
    statement = select(func.max(DeviceDaily.day)).where(
        col(DeviceDaily.device_id) == device_id, col(DeviceDaily.final)
    )
    last: date | None = session.exec(statement).one()
    return date.min if last is None else last + timedelta(days=1)


def check_period(now: datetime, every_s: float) -> str:
    """The slot of local time a check at `now` belongs to (`YYYY-MM-DDTHH:MM:SS`)."""
    local = now.astimezone(VN_TZ)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    slot = int((local - midnight).total_seconds() // every_s * every_s)
    return (midnight + timedelta(seconds=slot)).strftime("%Y-%m-%dT%H:%M:%S")


def fleet_jobs(
    thresholds: FleetThresholds | None = None, every_s: float | None = None
) -> list[DailyJob]:
    """The scheduler jobs of fleet health (settings from the environment unless given)."""
    # Imported here: `scheduler.jobs` lists these jobs among its own, importing this module.
    from central_server.scheduler.jobs import DailyJob

    if thresholds is None or every_s is None:
        settings = get_settings()
        thresholds = thresholds or FleetThresholds.from_settings(settings)
        every_s = every_s or settings.fleet_check_every_s
    limits, slot = thresholds, every_s

    def check(session: Session, now: datetime) -> dict[str, Any]:
        return check_fleet(session, now, limits)

    def period(now: datetime) -> str:
        return check_period(now, slot)

    return [DailyJob(CHECK_JOB, check, period=period), DailyJob(DAILY_JOB, roll_up_days)]
