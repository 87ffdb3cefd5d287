"""A box's health history: online intervals, daily figures, and uptime over any period.

Online intervals are opened by the first heartbeat after an absence and closed by an `offline`
status (said by the box or published by the broker as its last will) or by the fleet check when
heartbeats stop. Uptime over a period is the overlap of its intervals with the period, which is
what the monthly report and the daily figures use (`uptime_by_device`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from central_server.devices.models_health import DeviceDaily, DeviceOnlineInterval, IntervalEnd
from central_server.models import Packet
from central_server.workflow.deadlines import VN_TZ


def open_interval(session: Session, device_id: str, at: datetime) -> DeviceOnlineInterval:
    """Start an online interval at `at`."""
    interval = DeviceOnlineInterval(device_id=device_id, started_at=at)
    session.add(interval)
    return interval


def close_interval(
    session: Session, device_id: str, at: datetime, reason: IntervalEnd
) -> DeviceOnlineInterval | None:
    """End the box's open interval at `at` (never before it started); None if none was open."""
    statement = select(DeviceOnlineInterval).where(
        col(DeviceOnlineInterval.device_id) == device_id,
        col(DeviceOnlineInterval.ended_at).is_(None),
    )
    closed = None
    for interval in session.exec(statement).all():
        interval.ended_at = max(at, interval.started_at)
        interval.end_reason = reason
        session.add(interval)
        closed = interval
    return closed


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC start and end of a local calendar day in Vietnam."""
    start = datetime.combine(day, time.min, VN_TZ)
    return start, start + timedelta(days=1)


def daily_row(session: Session, device_id: str, day: date) -> DeviceDaily:
    """The box's figures of `day`, created empty if missing (caller holds the box's lock)."""
    row = session.get(DeviceDaily, (device_id, day))
    if row is None:
        row = DeviceDaily(device_id=device_id, day=day)
        session.add(row)
    return row


@dataclass(frozen=True)
class DeviceUptime:
    """Online time of one box within a period."""

    device_id: str
    online_s: float
    period_s: float
    intervals: int

    @property
    def share(self) -> float:
        """Online share of the period, 0..1."""
        return self.online_s / self.period_s if self.period_s > 0 else 0.0


def uptime_by_device(
    session: Session,
    start: datetime,
    end: datetime,
    now: datetime,
    device_ids: list[str] | None = None,
) -> dict[str, DeviceUptime]:
    """Online seconds of every box (or of `device_ids`) within [start, end), as of `now`.

    An interval still open counts until `now`; boxes never online in the period are absent.
    """
    statement = select(DeviceOnlineInterval).where(
        col(DeviceOnlineInterval.started_at) < end,
        or_(
            col(DeviceOnlineInterval.ended_at).is_(None),
            col(DeviceOnlineInterval.ended_at) > start,
        ),
    )
    if device_ids is not None:
        statement = statement.where(col(DeviceOnlineInterval.device_id).in_(device_ids))
    online: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for interval in session.exec(statement).all():
        stop = min(interval.ended_at or now, end, now)
        seconds = (stop - max(interval.started_at, start)).total_seconds()
        if seconds > 0:
            online[interval.device_id] += seconds
            counts[interval.device_id] += 1
    period_s = (min(end, max(now, start)) - start).total_seconds()
    return {
        device: DeviceUptime(device, seconds, period_s, counts[device])
        for device, seconds in online.items()
    }


def packets_by_device(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Packets stored per box with a receipt time in [start, end)."""
    statement = (
        select(col(Packet.device_id), func.count())
        .where(col(Packet.received_at) >= start, col(Packet.received_at) < end)
        .group_by(col(Packet.device_id))
    )
    return {device: int(count) for device, count in session.exec(statement).all()}


def fill_day(
    row: DeviceDaily, uptime: DeviceUptime | None, packets: int, now: datetime, final: bool
) -> DeviceDaily:
    """Write the interval- and packet-derived figures of a day into its row."""
    row.online_s = uptime.online_s if uptime else 0.0
    row.uptime_share = round(uptime.share, 6) if uptime else 0.0
    row.packets = packets
    row.final = final
    row.updated_at = now
    return row
