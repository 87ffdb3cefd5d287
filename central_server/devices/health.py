"""Apply a box's status message (heartbeat or last will) to its device row, health and history.

The ingest's worker threads call `StatusRecorder.handle()` for every message on
`tw/v1/+/status` (never paho's network thread). Messages of one box may reach two workers out of
order, so each carries the server's receipt time and an older one than the last applied is
skipped. A retained heartbeat (delivered again when the ingest subscribes) counts from the time
the box sent it, not from its redelivery, so a box that died long ago is not taken for alive.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, case, literal, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from central_server.db import session_scope
from central_server.devices import alarms
from central_server.devices.alarms import FleetThresholds
from central_server.devices.history import close_interval, daily_row, open_interval
from central_server.devices.models_health import AlarmCode, DeviceHealth, IntervalEnd
from central_server.models import Device, utcnow
from central_server.settings import Settings
from central_server.workflow.deadlines import local_date
from protocol.enums import DeviceState
from protocol.errors import ProtocolError
from protocol.status import StatusHeartbeat, StatusMetrics, decode_status
from protocol.topics import TopicKind, Topics

logger = logging.getLogger(__name__)


def lock_health(session: Session, device_id: str) -> DeviceHealth:
    """The box's health row, created if missing, locked until the transaction ends."""
    statement = (
        select(DeviceHealth)
        .where(col(DeviceHealth.device_id) == device_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    health: DeviceHealth | None = session.exec(statement).first()
    if health is None:
        # Two workers may create it at once: the loser's insert does nothing, then both lock.
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        empty: dict[str, Any] = {
            "device_id": device_id,
            "online": False,
            "outbox_trend": [],
            "camera_problems": [],
            "box_alarms": [],
            "updated_at": utcnow(),
        }
        table = DeviceHealth.__table__  # type: ignore[attr-defined]
        session.execute(insert(table).values(**empty).on_conflict_do_nothing())
        created: DeviceHealth = session.exec(statement).one()
        return created
    return health


def apply_status(
    session: Session,
    device_id: str,
    status: StatusHeartbeat,
    *,
    received_at: datetime,
    retained: bool,
    thresholds: FleetThresholds,
) -> DeviceHealth | None:
    """Apply one status message; None when the box is unknown or revoked."""
    device = session.get(Device, device_id)
    if device is None or device.revoked_at is not None:
        logger.warning("status from unknown or revoked device %s ignored", device_id)
        return None
    at = min(received_at, status.sent_at) if retained else received_at
    health = lock_health(session, device_id)
    if health.last_status_at is not None and at < health.last_status_at:
        logger.debug("stale status of %s (%s) skipped", device_id, at)
        return health
    if status.state is DeviceState.offline or status.metrics is None:
        went_offline(session, health, at, IntervalEnd.offline)
    else:
        _heartbeat(session, health, status.state, status.metrics, at, thresholds)
        health.sent_at, health.software_version = status.sent_at, status.software_version
    health.last_status_at = at
    session.add(health)
    _touch_device(session, device_id, status, at)
    return health


def went_offline(session: Session, health: DeviceHealth, at: datetime, reason: IntervalEnd) -> None:
    """Mark the box offline from `at`, closing its online interval."""
    if health.online:
        close_interval(session, health.device_id, at, reason)
        daily_row(session, health.device_id, local_date(at)).offline_events += 1
        health.offline_since = at
        logger.info("device %s offline (%s) at %s", health.device_id, reason.value, at)
    elif health.offline_since is None:
        health.offline_since = at
    health.online, health.state, health.updated_at = False, DeviceState.offline, utcnow()
    health.outbox_trend = []  # a trend spans one online stretch


def _heartbeat(
    session: Session,
    health: DeviceHealth,
    state: DeviceState,
    metrics: StatusMetrics,
    at: datetime,
    thresholds: FleetThresholds,
) -> None:
    if not health.online:
        open_interval(session, health.device_id, at)
        health.online, health.online_since, health.offline_since = True, at, None
    dropped = metrics.outbox.dropped
    totals = {"clip": dropped.clip, "still": dropped.still, "metadata": dropped.metadata}
    newly_dropped = _newly_dropped(health, sum(totals.values()))
    _copy_metrics(health, metrics)
    health.state, health.last_heartbeat_at, health.updated_at = state, at, utcnow()
    health.outbox_trend = [*health.outbox_trend, metrics.outbox.depth][
        -thresholds.outbox_growth_heartbeats :
    ]
    if newly_dropped:
        health.last_drop_at = at
    _count_day(session, health, metrics, newly_dropped, at)
    findings: dict[AlarmCode, alarms.Finding | None] = {
        AlarmCode.offline: None,
        AlarmCode.outbox_growing: alarms.outbox_rule(
            health.outbox_trend, thresholds.outbox_growth_heartbeats
        ),
        AlarmCode.clock_drift: alarms.clock_rule(
            metrics.clock.offset_ms, thresholds.clock_drift_ms
        ),
        AlarmCode.camera_problem: alarms.camera_rule(health.camera_problems),
    }
    dropped_finding = alarms.dropped_rule(newly_dropped, totals)
    if dropped_finding is not None:  # cleared by the fleet check once drops stop
        findings[AlarmCode.evidence_dropped] = dropped_finding
    alarms.apply_findings(session, health.device_id, findings, at)


def _newly_dropped(health: DeviceHealth, total: int) -> int:
    previous = [health.dropped_clips, health.dropped_stills, health.dropped_metadata]
    if any(value is None for value in previous):
        return total  # first heartbeat we hear: whatever it dropped is news
    before = sum(value or 0 for value in previous)
    return total - before if total >= before else total  # a lower total: the outbox was reset


def _copy_metrics(health: DeviceHealth, m: StatusMetrics) -> None:
    health.uptime_s = m.uptime_s
    health.fps_in, health.fps_processed = m.pipeline.fps_in, m.pipeline.fps_processed
    health.detection_latency_ms = m.pipeline.detection_latency_ms
    health.dropped_frames = m.pipeline.dropped_frames
    health.outbox_depth, health.outbox_bytes = m.outbox.depth, m.outbox.bytes
    health.outbox_in_flight, health.outbox_oldest_at = m.outbox.in_flight, m.outbox.oldest_at
    health.dead_letters = m.outbox.dead_letters
    health.dropped_clips = m.outbox.dropped.clip
    health.dropped_stills = m.outbox.dropped.still
    health.dropped_metadata = m.outbox.dropped.metadata
    health.disk_free_bytes, health.disk_total_bytes = m.disk.free_bytes, m.disk.total_bytes
    health.temperature_c = m.temperature_c
    health.clock_synced, health.clock_source = m.clock.synced, m.clock.source.value
    health.clock_offset_ms = m.clock.offset_ms
    health.camera_problems = [problem.value for problem in m.camera_problems]
    health.box_alarms = [alarm.model_dump(mode="json") for alarm in m.alarms]
    health.last_seq, health.config_sha256 = m.last_seq, m.config_sha256


def _count_day(
    session: Session, health: DeviceHealth, m: StatusMetrics, newly_dropped: int, at: datetime
) -> None:
    day = daily_row(session, health.device_id, local_date(at))
    day.heartbeats += 1
    day.max_outbox_depth = max(day.max_outbox_depth, m.outbox.depth)
    day.dropped_evidence += newly_dropped
    day.max_dead_letters = max(day.max_dead_letters, m.outbox.dead_letters)
    free = m.disk.free_bytes
    day.min_disk_free_bytes = (
        free if day.min_disk_free_bytes is None else min(day.min_disk_free_bytes, free)
    )
    if m.temperature_c is not None:
        day.max_temperature_c = max(day.max_temperature_c or m.temperature_c, m.temperature_c)
    offset = abs(m.clock.offset_ms)
    day.max_abs_clock_offset_ms = max(day.max_abs_clock_offset_ms or 0.0, offset)
    day.updated_at = utcnow()
    session.add(day)


def _touch_device(session: Session, device_id: str, status: StatusHeartbeat, at: datetime) -> None:
    # The device row keeps the latest status as the box sent it (reports read it) and
    # `last_seen_at`, the newest sign of life, which evidence packets also move (in SQL, so
    # that a packet stored at the same time is never overwritten by an older time).
    values: dict[str, Any] = {"status_json": status.model_dump(mode="json")}
    if status.state is not DeviceState.offline:
        column: Any = col(Device.last_seen_at)
        bound = literal(at, column.type)
        values["last_seen_at"] = case((or_(column.is_(None), column < bound), bound), else_=column)
    session.execute(update(Device).where(col(Device.id) == device_id).values(**values))


class StatusRecorder:
    """What the ingest workers call with each status message: decode, apply, commit."""

    def __init__(self, engine: Engine, thresholds: FleetThresholds, topics: Topics) -> None:
        self.engine = engine
        self.thresholds = thresholds
        self.topics = topics

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine) -> StatusRecorder:
        """A recorder with the settings' thresholds and topic prefix."""
        return cls(engine, FleetThresholds.from_settings(settings), Topics(settings.topic_prefix))

    def handle(self, topic: str, payload: bytes, received_at: datetime, retained: bool) -> None:
        """Apply one message; a malformed one is logged and dropped (nothing to retry)."""
        try:
            device_id, kind = self.topics.parse(topic)
            if kind is not TopicKind.status:
                raise ProtocolError(f"{topic} is not a status topic")
            if not payload:
                return  # a cleared retained message: nothing to say
            status = decode_status(payload)
            if status.device_id != device_id:
                raise ProtocolError(f"status for {status.device_id} on {device_id}'s topic")
        except ProtocolError as exc:
            logger.warning("status message on %s refused: %s", topic, exc)
            return
        with session_scope(self.engine) as session:
            apply_status(
                session,
                device_id,
                status,
                received_at=received_at,
                retained=retained,
                thresholds=self.thresholds,
            )
