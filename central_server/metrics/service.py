"""Read the operational snapshot: ingest, fleet, queues, disk and scheduler, at one instant.

Every query is bounded by an index or a window so a scrape stays cheap on a year of data: packet
counts and lags use `packet.received_at` over the last minutes, the plate backlog looks at the
newest `PLATE_WINDOW` violations only, queue sizes use the (status, ...) indexes. Rates are derived
from the database rather than from counters inside the ingest processes: the database sees every
ingest worker on every host, and one scrape of any API worker gives the same answer.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel import Session, col

from central_server.devices.models_health import AlarmCode, DeviceAlarm, DeviceHealth
from central_server.models import (
    AuditHeadSignature,
    ChunkStage,
    Device,
    Packet,
    Quarantine,
    Violation,
    ViolationStatus,
)
from central_server.scheduler.models import JobRun, SchedulerLock
from central_server.settings import Settings

logger = logging.getLogger(__name__)

RATE_WINDOWS_S = (60, 300)  # packets stored over the last minute and five minutes
LAG_WINDOW_S = 300
LAG_SAMPLE_MAX = 20_000  # newest packets whose capture-to-stored lag is measured
QUARANTINE_WINDOW_S = 3600
PLATE_WINDOW = 50_000  # the plate backlog counts unread plates among this many newest cases
OPEN_STATUSES = (
    ViolationStatus.pending_review,  # the centre's review queue
    ViolationStatus.approved,  # the police queue
    ViolationStatus.verifying,
    ViolationStatus.confirmed,
    ViolationStatus.notified,
)


@dataclass(frozen=True)
class IngestFigures:
    """What the ingest stored lately, how late, and what waits staged."""

    stored: dict[int, int]  # window in seconds -> packets stored
    bytes_5m: int
    last_stored_at: datetime | None
    lag_s: dict[str, float]  # "0.5", "0.99", "1": capture to stored, over the last 5 minutes
    quarantined_1h: int
    staged_chunks: int
    staged_bytes: int
    oldest_staged_at: datetime | None


@dataclass(frozen=True)
class WaitingBox:
    """An online box that reports evidence waiting in its outbox."""

    device_id: str
    depth: int
    oldest_at: datetime | None


@dataclass(frozen=True)
class FleetFigures:
    """Enrolled and online boxes, their open alarms, and the last status heard from any."""

    enrolled: int
    online: int
    last_status_at: datetime | None
    alarms_open: dict[str, int]
    offline_devices: tuple[str, ...]  # open `offline` alarms (the fleet check raises them)
    waiting: tuple[WaitingBox, ...]


@dataclass(frozen=True)
class DiskFigures:
    """The filesystem holding the evidence store."""

    path: Path
    total_bytes: int
    free_bytes: int

    @property
    def used_pct(self) -> float:
        """Share of the filesystem in use, in per cent (what `df` shows)."""
        return 100.0 * (self.total_bytes - self.free_bytes) / self.total_bytes


@dataclass(frozen=True)
class JobFigures:
    """The latest run of one scheduler job, and its latest successful one."""

    job: str
    last_run_at: datetime
    last_ok: bool
    last_success_at: datetime | None
    result: dict[str, Any] | None


@dataclass(frozen=True)
class Snapshot:
    """Everything `/metrics` shows and the alert rules evaluate, read at `now`."""

    now: datetime
    ingest: IngestFigures
    fleet: FleetFigures
    disk: DiskFigures | None
    violations_open: dict[str, int]
    plate_backlog: int
    jobs: dict[str, JobFigures] = field(default_factory=dict)
    scheduler_lock_held: bool = False
    audit_head_signed_at: datetime | None = None
    alerts_firing: tuple[str, ...] = ()  # keys of the alerts firing (filled by the caller)


def read_snapshot(session: Session, settings: Settings, now: datetime) -> Snapshot:
    """Read every figure in one (read-only) transaction."""
    return Snapshot(
        now=now,
        ingest=_ingest(session, now),
        fleet=_fleet(session, now, settings.fleet_heartbeat_timeout_s),
        disk=read_disk(settings.evidence_dir),
        violations_open=_violations_open(session),
        plate_backlog=_plate_backlog(session),
        jobs=read_jobs(session),
        scheduler_lock_held=_lock_held(session, now),
        audit_head_signed_at=session.execute(
            select(func.max(col(AuditHeadSignature.signed_at)))
        ).scalar_one(),
    )


def read_disk(path: Path) -> DiskFigures | None:
    """Size and free space of the filesystem at `path`, or at its nearest existing parent
    (a store nothing was written to yet); None when it cannot be read."""
    existing = next((p for p in (path, *path.parents) if p.exists()), path)
    try:
        usage = shutil.disk_usage(existing)
    except OSError as exc:
        logger.warning("cannot read the disk usage of %s: %s", path, exc)
        return None
    if usage.total == 0:
        return None
    return DiskFigures(path=path, total_bytes=usage.total, free_bytes=usage.free)


def _count(session: Session, statement: Any) -> int:
    return int(session.execute(statement).scalar_one() or 0)


def _ingest(session: Session, now: datetime) -> IngestFigures:
    received = col(Packet.received_at)
    stored = {
        window: _count(
            session, select(func.count()).where(received >= now - timedelta(seconds=window))
        )
        for window in RATE_WINDOWS_S
    }
    since_5m = now - timedelta(seconds=300)
    staged = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(func.length(col(ChunkStage.data))), 0),
            func.min(col(ChunkStage.received_at)),
        )
    ).one()
    quarantine_since = now - timedelta(seconds=QUARANTINE_WINDOW_S)
    return IngestFigures(
        stored=stored,
        bytes_5m=_count(session, select(func.sum(col(Packet.size))).where(received >= since_5m)),
        last_stored_at=session.execute(select(func.max(received))).scalar_one(),
        lag_s=_lags(session, now),
        quarantined_1h=_count(
            session,
            select(func.count()).where(col(Quarantine.received_at) >= quarantine_since),
        ),
        staged_chunks=int(staged[0]),
        staged_bytes=int(staged[1]),
        oldest_staged_at=staged[2],
    )


def _lags(session: Session, now: datetime) -> dict[str, float]:
    """Capture-to-stored lag quantiles (nearest rank) of the packets stored lately."""
    statement = (
        select(col(Packet.received_at), col(Violation.occurred_at))
        .join(Violation, col(Violation.packet_id) == col(Packet.packet_id))
        .where(col(Packet.received_at) >= now - timedelta(seconds=LAG_WINDOW_S))
        .order_by(col(Packet.received_at).desc())
        .limit(LAG_SAMPLE_MAX)
    )
    lags = sorted(
        max(0.0, (received - occurred).total_seconds())
        for received, occurred in session.execute(statement).all()
    )
    if not lags:
        return {}
    return {q: lags[min(len(lags) - 1, int(float(q) * len(lags)))] for q in ("0.5", "0.99", "1")}


def _fleet(session: Session, now: datetime, heartbeat_timeout_s: float) -> FleetFigures:
    fresh = now - timedelta(seconds=heartbeat_timeout_s)
    live = and_(col(DeviceHealth.online), col(DeviceHealth.last_heartbeat_at) >= fresh)
    active = col(Device.revoked_at).is_(None)
    joined = select(func.count()).select_from(DeviceHealth).join(Device)
    waiting_rows = session.execute(
        select(
            col(DeviceHealth.device_id),
            col(DeviceHealth.outbox_depth),
            col(DeviceHealth.outbox_oldest_at),
        )
        .join(Device)
        .where(live, active, col(DeviceHealth.outbox_depth) > 0)
        .order_by(col(DeviceHealth.device_id))
    ).all()
    alarm_rows = session.execute(
        select(col(DeviceAlarm.code), col(DeviceAlarm.device_id)).where(
            col(DeviceAlarm.cleared_at).is_(None)
        )
    ).all()
    alarms_open: dict[str, int] = {}
    for code, _device in alarm_rows:
        alarms_open[code.value] = alarms_open.get(code.value, 0) + 1
    return FleetFigures(
        enrolled=_count(session, select(func.count()).select_from(Device).where(active)),
        online=_count(session, joined.where(live, active)),
        last_status_at=session.execute(
            select(func.max(col(DeviceHealth.last_status_at)))
        ).scalar_one(),
        alarms_open=alarms_open,
        offline_devices=tuple(
            sorted(device for code, device in alarm_rows if code is AlarmCode.offline)
        ),
        waiting=tuple(WaitingBox(row[0], int(row[1]), row[2]) for row in waiting_rows),
    )


def _violations_open(session: Session) -> dict[str, int]:
    status = col(Violation.status)
    rows = session.execute(
        select(status, func.count()).where(status.in_(OPEN_STATUSES)).group_by(status)
    ).all()
    counts = {s.value: 0 for s in OPEN_STATUSES}
    counts.update({row[0].value: int(row[1]) for row in rows})
    return counts


def _plate_backlog(session: Session) -> int:
    newest = session.execute(select(func.max(col(Violation.id)))).scalar_one()
    if newest is None:
        return 0
    return _count(
        session,
        select(func.count()).where(
            col(Violation.id) > newest - PLATE_WINDOW, col(Violation.plate_read_at).is_(None)
        ),
    )


def read_jobs(session: Session) -> dict[str, JobFigures]:
    """The latest run of every scheduler job (and when it last succeeded)."""
    latest = (
        select(col(JobRun.job), func.max(col(JobRun.started_at)).label("at"))
        .group_by(col(JobRun.job))
        .subquery()
    )
    rows = session.execute(
        select(JobRun).join(
            latest, and_(col(JobRun.job) == latest.c.job, col(JobRun.started_at) == latest.c.at)
        )
    ).scalars()
    successes = dict(
        session.execute(
            select(col(JobRun.job), func.max(col(JobRun.finished_at)))
            .where(col(JobRun.ok))
            .group_by(col(JobRun.job))
        ).all()
    )
    jobs: dict[str, JobFigures] = {}
    for run in rows:
        known = jobs.get(run.job)
        if known is not None and known.last_ok:
            continue  # two runs at the same instant: a success wins
        jobs[run.job] = JobFigures(
            job=run.job,
            last_run_at=run.started_at,
            last_ok=run.ok,
            last_success_at=successes.get(run.job),
            result=run.result,
        )
    return jobs


def _lock_held(session: Session, now: datetime) -> bool:
    expires = session.execute(select(func.max(col(SchedulerLock.expires_at)))).scalar_one()
    return expires is not None and expires > now
