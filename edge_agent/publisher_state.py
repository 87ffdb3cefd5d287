"""The publisher's bookkeeping: its counters, its packets in flight, a fallback heartbeat."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import paho.mqtt.client as mqtt

from edge_agent.outbox import Outbox
from protocol.enums import ClockSource, DeviceState
from protocol.evidence import ClockState
from protocol.status import DiskStatus, PipelineStatus, StatusHeartbeat, StatusMetrics


@dataclass(frozen=True)
class PublisherCounters:
    """What the publisher has done since it started, for the heartbeat and the tests."""

    connected: bool
    connections: int
    connect_attempts: int
    published: int
    republished: int
    acked: int
    rejected: int
    forged_acks: int
    in_flight: int
    alarms: tuple[str, ...]


@dataclass
class InFlight:
    packet_id: uuid.UUID
    infos: list[mqtt.MQTTMessageInfo] | None  # None once every chunk got its PUBACK
    sent_at: float  # monotonic; restarted on reconnect (paho resends what was pending)
    deadline: float = 0.0  # wall clock: when the outbox will hand it out again


@dataclass
class Counts:
    published: int = 0
    republished: int = 0
    acked: int = 0
    rejected: int = 0
    forged_acks: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, n: int = 1) -> None:
        """Add to a counter (paho's thread and the publishing loop both count)."""
        with self.lock:
            setattr(self, name, getattr(self, name) + n)


def minimal_heartbeat(
    device_id: str, outbox: Outbox, in_flight: int, started: float
) -> StatusHeartbeat:
    """An online heartbeat from what the publisher knows, until the health stage sends one."""
    disk = shutil.disk_usage(outbox.path.parent)
    metrics = StatusMetrics(
        uptime_s=time.monotonic() - started,
        pipeline=PipelineStatus(fps_in=0, fps_processed=0),
        outbox=outbox.stats().to_status(in_flight=in_flight),
        disk=DiskStatus(free_bytes=disk.free, total_bytes=disk.total),
        # The publisher cannot know the clock's state: say "not known to be synced".
        clock=ClockState(synced=False, source=ClockSource.none, offset_ms=0),
    )
    return StatusHeartbeat(
        device_id=device_id,
        state=DeviceState.online,
        sent_at=datetime.now(timezone.utc),
        metrics=metrics,
    )
