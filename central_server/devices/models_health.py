"""Fleet-health tables: each box's latest state, its online intervals, daily figures and alarms.

`device_health` holds what the last heartbeat said (one row per box, locked while a heartbeat or
the fleet check changes it, so that alarms of one box are never raised twice at once);
`device_online_interval` and `device_daily` are the history uptime reports need;
`device_alarm` the alarms, at most one open per box and code.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, PrimaryKeyConstraint, text
from sqlmodel import Field, SQLModel

from central_server.models import SHA256_HEX_LEN, UtcDateTime, _str_enum, utcnow
from protocol.enums import DeviceState


class AlarmCode(str, Enum):
    """What a fleet alarm is about."""

    offline = "offline"
    outbox_growing = "outbox_growing"
    clock_drift = "clock_drift"
    evidence_dropped = "evidence_dropped"
    sequence_gap = "sequence_gap"
    camera_problem = "camera_problem"


class IntervalEnd(str, Enum):
    """Why an online interval ended."""

    offline = "offline"  # the box said so, or the broker published its last will
    timeout = "timeout"  # no heartbeat for longer than the configured timeout


class DeviceHealth(SQLModel, table=True):
    """A box's health as of its latest status message (times are server receipt times)."""

    __tablename__ = "device_health"
    device_id: str = Field(primary_key=True, foreign_key="device.id", max_length=64)
    # None: nothing heard yet (the row exists because a sequence gap needed an alarm).
    state: DeviceState | None = Field(default=None, sa_type=_str_enum(DeviceState, 16))
    online: bool = False
    online_since: datetime | None = Field(default=None, sa_type=UtcDateTime)
    offline_since: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_heartbeat_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_status_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    software_version: str | None = Field(default=None, max_length=200)
    uptime_s: float | None = None
    fps_in: float | None = None
    fps_processed: float | None = None
    detection_latency_ms: float | None = None
    dropped_frames: int | None = Field(default=None, sa_type=BigInteger)
    outbox_depth: int | None = None
    outbox_bytes: int | None = Field(default=None, sa_type=BigInteger)
    outbox_in_flight: int | None = None
    outbox_oldest_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The outbox depths of the last heartbeats, oldest first (the "keeps growing" rule).
    outbox_trend: list[int] = Field(default_factory=list, sa_type=JSON)
    dead_letters: int | None = None
    dropped_clips: int | None = None
    dropped_stills: int | None = None
    dropped_metadata: int | None = None
    last_drop_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    disk_free_bytes: int | None = Field(default=None, sa_type=BigInteger)
    disk_total_bytes: int | None = Field(default=None, sa_type=BigInteger)
    temperature_c: float | None = None
    clock_synced: bool | None = None
    clock_source: str | None = Field(default=None, max_length=32)
    clock_offset_ms: float | None = None
    camera_problems: list[str] = Field(default_factory=list, sa_type=JSON)
    box_alarms: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    last_seq: int | None = Field(default=None, sa_type=BigInteger)
    config_sha256: str | None = Field(default=None, max_length=SHA256_HEX_LEN)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DeviceOnlineInterval(SQLModel, table=True):
    """A stretch of time a box was online (`ended_at` None: still online)."""

    __tablename__ = "device_online_interval"
    __table_args__ = (Index("ix_device_online_interval_device_started", "device_id", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(foreign_key="device.id", max_length=64)
    started_at: datetime = Field(sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    end_reason: IntervalEnd | None = Field(default=None, sa_type=_str_enum(IntervalEnd, 16))


class DeviceDaily(SQLModel, table=True):
    """A box's figures for one local day (Asia/Ho_Chi_Minh); `final` once the day is over."""

    __tablename__ = "device_daily"
    __table_args__ = (PrimaryKeyConstraint("device_id", "day"),)
    device_id: str = Field(foreign_key="device.id", max_length=64)
    day: date
    heartbeats: int = 0
    online_s: float = 0.0
    uptime_share: float | None = None
    offline_events: int = 0
    max_outbox_depth: int = 0
    packets: int = 0
    dropped_evidence: int = 0
    max_dead_letters: int = 0
    min_disk_free_bytes: int | None = Field(default=None, sa_type=BigInteger)
    max_temperature_c: float | None = None
    max_abs_clock_offset_ms: float | None = None
    final: bool = False
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class DeviceAlarm(SQLModel, table=True):
    """A fleet alarm: raised, possibly acknowledged by a person, cleared when the cause goes."""

    __tablename__ = "device_alarm"
    __table_args__ = (
        # At most one open alarm per box and code (deduplication the database enforces).
        Index(
            "uq_device_alarm_open",
            "device_id",
            "code",
            unique=True,
            sqlite_where=text("cleared_at IS NULL"),
            postgresql_where=text("cleared_at IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(foreign_key="device.id", index=True, max_length=64)
    code: AlarmCode = Field(sa_type=_str_enum(AlarmCode))
    message_vi: str = Field(max_length=500)
    message_en: str = Field(max_length=500)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    raised_at: datetime = Field(sa_type=UtcDateTime, index=True)
    updated_at: datetime = Field(sa_type=UtcDateTime)
    cleared_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=128)
    acknowledged_note: str | None = Field(default=None, max_length=500)
