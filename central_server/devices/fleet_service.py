"""Fleet-health queries for the staff API, and acknowledging an alarm (audited). Never commits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from central_server import audit
from central_server.devices.fleet_schemas import (
    AlarmPublic,
    DailyPublic,
    DeviceHealthPublic,
    HealthHistoryPublic,
    IntervalPublic,
)
from central_server.devices.history import (
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
    DeviceOnlineInterval,
)
from central_server.errors import AppError
from central_server.models import Device
from central_server.workflow.deadlines import local_date


def _open_alarm_counts(session: Session) -> Counter[str]:
    statement = (
        select(col(DeviceAlarm.device_id), func.count())
        .where(col(DeviceAlarm.cleared_at).is_(None))
        .group_by(col(DeviceAlarm.device_id))
    )
    return Counter({device: int(count) for device, count in session.exec(statement).all()})


def _public(device: Device, health: DeviceHealth | None, open_alarms: int) -> DeviceHealthPublic:
    h = health or DeviceHealth(device_id=device.id)
    return DeviceHealthPublic(
        device_id=device.id,
        site_id=device.site_id,
        camera_id=device.camera_id,
        revoked=device.revoked_at is not None,
        state=h.state,
        online=h.online,
        last_seen_at=device.last_seen_at,
        last_heartbeat_at=h.last_heartbeat_at,
        online_since=h.online_since,
        offline_since=h.offline_since,
        software_version=h.software_version,
        fps_in=h.fps_in,
        fps_processed=h.fps_processed,
        detection_latency_ms=h.detection_latency_ms,
        outbox_depth=h.outbox_depth,
        outbox_bytes=h.outbox_bytes,
        dead_letters=h.dead_letters,
        dropped={
            "clip": h.dropped_clips,
            "still": h.dropped_stills,
            "metadata": h.dropped_metadata,
        },
        disk_free_bytes=h.disk_free_bytes,
        disk_total_bytes=h.disk_total_bytes,
        temperature_c=h.temperature_c,
        clock_synced=h.clock_synced,
        clock_offset_ms=h.clock_offset_ms,
        camera_problems=h.camera_problems,
        box_alarms=h.box_alarms,
        config_sha256=h.config_sha256,
        open_alarms=open_alarms,
    )


def list_health(
    session: Session, *, site_id: str | None = None, online: bool | None = None
) -> list[DeviceHealthPublic]:
    """Every box with its health, by id; optionally one site's, or only (not) online ones."""
    statement = (
        select(Device, DeviceHealth)
        .join(DeviceHealth, col(DeviceHealth.device_id) == col(Device.id), isouter=True)
        .order_by(col(Device.id))
    )
    if site_id is not None:
        statement = statement.where(col(Device.site_id) == site_id)
    counts = _open_alarm_counts(session)
    rows = [
        _public(device, health, counts[device.id]) for device, health in session.exec(statement)
    ]
    return [row for row in rows if online is None or row.online == online]


def _device(session: Session, device_id: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise AppError(
            404,
            "device_not_found",
            "Không tìm thấy thiết bị.",
            f"Device {device_id} not found.",
        )
    return device


def health_history(
    session: Session, device_id: str, *, days: int, now: datetime
) -> HealthHistoryPublic:
    """A box's health now, its online intervals and daily figures over the last `days` days."""
    device = _device(session, device_id)
    today = local_date(now)
    first_day = today - timedelta(days=days - 1)
    since, _ = local_day_bounds(first_day)
    ended = col(DeviceOnlineInterval.ended_at)
    intervals = session.exec(
        select(DeviceOnlineInterval)
        .where(col(DeviceOnlineInterval.device_id) == device_id)
        .where(or_(ended.is_(None), ended > since))
        .order_by(col(DeviceOnlineInterval.started_at))
    ).all()
    stored = session.exec(
        select(DeviceDaily)
        .where(col(DeviceDaily.device_id) == device_id, col(DeviceDaily.day) >= first_day)
        .order_by(col(DeviceDaily.day))
    ).all()
    daily = [DailyPublic.model_validate(row) for row in stored if row.day != today]
    daily.append(_today(session, device_id, stored, now))
    uptime = uptime_by_device(session, since, now, now, [device_id]).get(device_id)
    counts = _open_alarm_counts(session)
    return HealthHistoryPublic(
        device=_public(device, session.get(DeviceHealth, device_id), counts[device_id]),
        since=since,
        uptime_share=round(uptime.share, 6) if uptime else 0.0,
        intervals=[IntervalPublic.model_validate(i) for i in intervals],
        days=daily,
    )


def _today(
    session: Session,
    device_id: str,
    stored: Sequence[DeviceDaily],
    now: datetime,
) -> DailyPublic:
    """Today's figures so far, computed now (not stored: only finished days are final)."""
    today = local_date(now)
    row = next((r for r in stored if r.day == today), None)
    draft = DeviceDaily(device_id=device_id, day=today)
    if row is not None:
        draft = DeviceDaily.model_validate(row.model_dump())
    start, end = local_day_bounds(today)
    uptime = uptime_by_device(session, start, end, now, [device_id]).get(device_id)
    fill_day(draft, uptime, packets_by_device(session, start, end).get(device_id, 0), now, False)
    return DailyPublic.model_validate(draft)


def list_alarms(
    session: Session,
    *,
    open_only: bool,
    device_id: str | None = None,
    code: AlarmCode | None = None,
    limit: int = 200,
) -> list[AlarmPublic]:
    """Alarms, newest first: open ones only unless asked otherwise."""
    statement = select(DeviceAlarm).order_by(col(DeviceAlarm.raised_at).desc()).limit(limit)
    if open_only:
        statement = statement.where(col(DeviceAlarm.cleared_at).is_(None))
    if device_id is not None:
        statement = statement.where(col(DeviceAlarm.device_id) == device_id)
    if code is not None:
        statement = statement.where(col(DeviceAlarm.code) == code)
    return [AlarmPublic.model_validate(alarm) for alarm in session.exec(statement).all()]


def acknowledge(
    session: Session, alarm_id: int, *, actor: str, note: str, now: datetime
) -> AlarmPublic:
    """Record that a person has seen an alarm (once: a second acknowledgement is a 409)."""
    alarm = session.get(DeviceAlarm, alarm_id)
    if alarm is None:
        raise AppError(404, "alarm_not_found", "Không tìm thấy cảnh báo.", "Alarm not found.")
    # Conditional UPDATE: of two people acknowledging at once exactly one wins.
    result = session.execute(
        update(DeviceAlarm)
        .where(col(DeviceAlarm.id) == alarm_id, col(DeviceAlarm.acknowledged_at).is_(None))
        .values(acknowledged_at=now, acknowledged_by=actor, acknowledged_note=note or None)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise AppError(
            409,
            "alarm_already_acknowledged",
            "Cảnh báo đã được xác nhận trước đó.",
            "The alarm was already acknowledged.",
            detail={"acknowledged_by": alarm.acknowledged_by},
        )
    session.refresh(alarm)
    audit.append(
        session,
        actor=actor,
        action="device.alarm_acknowledged",
        entity_type="device",
        entity_id=alarm.device_id,
        after={"alarm_id": alarm_id, "code": alarm.code.value, "note": note},
    )
    return AlarmPublic.model_validate(alarm)
