"""Fleet-health API bodies: a box's health, its history, and alarms."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from central_server.devices.models_health import AlarmCode, IntervalEnd
from protocol.enums import DeviceState


class DeviceHealthPublic(BaseModel):
    """A box and its health as of its latest status message (times UTC)."""

    device_id: str
    site_id: str | None
    camera_id: str
    revoked: bool
    state: DeviceState | None = Field(description="None: no status heard yet.")
    online: bool
    last_seen_at: dt.datetime | None = Field(description="Latest heartbeat or packet.")
    last_heartbeat_at: dt.datetime | None
    online_since: dt.datetime | None
    offline_since: dt.datetime | None
    software_version: str | None
    fps_in: float | None
    fps_processed: float | None
    detection_latency_ms: float | None
    outbox_depth: int | None
    outbox_bytes: int | None
    dead_letters: int | None
    dropped: dict[str, int | None] = Field(description="Evidence dropped for lack of disk.")
    disk_free_bytes: int | None
    disk_total_bytes: int | None
    temperature_c: float | None
    clock_synced: bool | None
    clock_offset_ms: float | None
    camera_problems: list[str]
    box_alarms: list[dict[str, Any]] = Field(description="Alarms the box itself reports.")
    config_sha256: str | None
    open_alarms: int = Field(description="Fleet alarms open for this box.")


class IntervalPublic(BaseModel):
    """A stretch of time the box was online (`ended_at` None: still online)."""

    model_config = ConfigDict(from_attributes=True)

    started_at: dt.datetime
    ended_at: dt.datetime | None
    end_reason: IntervalEnd | None


class DailyPublic(BaseModel):
    """A box's figures for one local day; `final` once the day is over."""

    model_config = ConfigDict(from_attributes=True)

    day: dt.date
    heartbeats: int
    online_s: float
    uptime_share: float | None
    offline_events: int
    max_outbox_depth: int
    packets: int
    dropped_evidence: int
    max_dead_letters: int
    min_disk_free_bytes: int | None
    max_temperature_c: float | None
    max_abs_clock_offset_ms: float | None
    final: bool


class HealthHistoryPublic(BaseModel):
    """A box's health now and over the last days."""

    device: DeviceHealthPublic
    since: dt.datetime
    uptime_share: float = Field(description="Online share of the window, 0..1.")
    intervals: list[IntervalPublic]
    days: list[DailyPublic]


class AlarmPublic(BaseModel):
    """A fleet alarm."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    device_id: str
    code: AlarmCode
    message_vi: str
    message_en: str
    detail: dict[str, Any]
    raised_at: dt.datetime
    updated_at: dt.datetime
    cleared_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    acknowledged_note: str | None


class AcknowledgeIn(BaseModel):
    """Acknowledging an alarm: someone has seen it (it stays open until its cause goes)."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=500, description="What is being done about it.")
