"""Shared by the fleet-health tests: heartbeats to send, enrolled boxes, the thresholds used."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlmodel import Session

from central_server.devices.alarms import FleetThresholds
from central_server.devices.health import apply_status
from central_server.devices.models_health import DeviceHealth
from central_server.models import Device
from protocol.status import StatusHeartbeat, decode_status, offline_status
from tests.factories_db import make_device, make_device_key

# 08:00 in Vietnam on a Monday: the local day is 2026-03-02.
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
THRESHOLDS = FleetThresholds(
    heartbeat_timeout_s=120,
    offline_after_s=600,
    outbox_growth_heartbeats=3,
    clock_drift_ms=1000,
    dropped_clear_after_s=3600,
)


def heartbeat(
    device_id: str,
    sent_at: datetime,
    *,
    state: str = "online",
    depth: int = 0,
    offset_ms: float = 2.0,
    dropped: tuple[int, int, int] = (0, 0, 0),
    dead_letters: int = 0,
    problems: tuple[str, ...] = (),
    free_bytes: int = 20 * 1024**3,
    temperature_c: float | None = 55.0,
) -> StatusHeartbeat:
    """A heartbeat of a box with the given figures."""
    metrics: dict[str, Any] = {
        "uptime_s": 600.0,
        "pipeline": {"fps_in": 25.0, "fps_processed": 12.0, "detection_latency_ms": 40.0},
        "outbox": {
            "depth": depth,
            "bytes": depth * 500_000,
            "dead_letters": dead_letters,
            "dropped": dict(zip(("clip", "still", "metadata"), dropped, strict=True)),
        },
        "disk": {"free_bytes": free_bytes, "total_bytes": 32 * 1024**3},
        "temperature_c": temperature_c,
        "clock": {"synced": abs(offset_ms) < 1000, "source": "ntp", "offset_ms": offset_ms},
        "camera_problems": list(problems),
        "last_seq": 41,
    }
    return StatusHeartbeat.model_validate(
        {
            "device_id": device_id,
            "state": state,
            "sent_at": sent_at,
            "software_version": "0.3.1",
            "metrics": metrics,
        }
    )


def offline(device_id: str, sent_at: datetime) -> StatusHeartbeat:
    """The last will (or a clean goodbye)."""
    return decode_status(offline_status(device_id, sent_at))


def enrol(session: Session, device_id: str = "dh-cam-001", **overrides: Any) -> Device:
    """An enrolled box with a valid key."""
    device = make_device(session, id=device_id, **overrides)
    make_device_key(session, device_id=device_id)
    return device


def beat(
    session: Session,
    device_id: str,
    at: datetime,
    status: StatusHeartbeat | None = None,
    *,
    retained: bool = False,
    **figures: Any,
) -> DeviceHealth | None:
    """Apply a heartbeat received at `at` (sent then unless `status` is given)."""
    status = status or heartbeat(device_id, at, **figures)
    return apply_status(
        session, device_id, status, received_at=at, retained=retained, thresholds=THRESHOLDS
    )


def minutes(n: float) -> timedelta:
    """`n` minutes."""
    return timedelta(minutes=n)
