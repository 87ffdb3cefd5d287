"""The publisher's bookkeeping: counters, packets in flight, refused chunks, a heartbeat."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping
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
    alarms: tuple[str, ...]  # codes: "auth_refused", "chunk_too_large"
    parked: int = 0  # packets set aside as dead letters because the broker refuses a chunk
    alarm_messages: dict[str, str] = field(default_factory=dict)  # code -> "tiếng Việt / English"


@dataclass(eq=False)
class InFlight:
    packet_id: uuid.UUID
    infos: list[mqtt.MQTTMessageInfo] | None  # None once every chunk got its PUBACK
    sent_at: float  # monotonic; restarted on reconnect (paho resends what was pending)
    deadline: float = 0.0  # wall clock: when the outbox will hand it out again
    generation: int = 0  # the MqttLink client generation that holds its chunks
    sizes: tuple[int, ...] = ()  # each chunk's bytes, for the alarm

    def first_unacked(self) -> int | None:
        """Index of the first chunk still without its PUBACK (None: all acknowledged)."""
        if self.infos is None:
            return None
        return next((i for i, info in enumerate(self.infos) if not puback(info)), None)


def puback(info: mqtt.MQTTMessageInfo) -> bool:
    """Whether paho got the PUBACK for a message."""
    try:
        return bool(info.is_published())
    except (ValueError, RuntimeError):  # paho gave up on it: treat as not acknowledged
        return False


Suspect = tuple[InFlight, int]  # a packet in flight and the index of its unacknowledged chunk


def oldest_unacked(flights: Mapping[uuid.UUID, InFlight]) -> Suspect | None:
    """The first chunk, in sending order, still without its PUBACK."""
    # paho sends in order, so a broker that chokes chokes on the first one still unacknowledged.
    for f in list(flights.values()):
        index = f.first_unacked()
        if index is not None:
            return f, index
    return None


def chunk_too_large_alarm(packet_id: uuid.UUID, size: int, times: int) -> str:
    """The alarm text for a parked packet, Vietnamese first."""
    return (
        f"Máy chủ MQTT ngắt kết nối {times} lần khi nhận mảnh {size} byte của gói {packet_id}"
        " (vượt giới hạn kích thước gói của máy chủ); gói được giữ lại trong danh sách gói"
        " bị từ chối: hãy giảm chunk_size rồi gửi lại"
        f" / the MQTT broker dropped the connection {times} times on a {size}-byte chunk of"
        f" packet {packet_id} (over its packet size limit); the packet is kept as a dead letter:"
        " lower chunk_size, then resend it"
    )


@dataclass
class RefusalWatch:
    """Spots a chunk the broker refuses: the link keeps dying with it first still unacknowledged.

    A broker drops the connection over a message it will not take (Mosquitto over
    `max_packet_size`), and paho re-sends it first thing after each reconnect; a link that merely
    flaps moves on, because the chunk gets its PUBACK on one of the connections.
    """

    limit: int
    seen: int = 0  # the link's disconnect count at the last look
    suspect: Suspect | None = None
    strikes: int = 0

    def observe(self, disconnects: int, find: Callable[[], Suspect | None]) -> Suspect | None:
        """Count new disconnects against the oldest unacknowledged chunk; return it at the limit."""
        new, self.seen = disconnects - self.seen, disconnects
        if new <= 0:
            return None
        found = find()
        same = (
            found is not None
            and self.suspect is not None
            and (found[0] is self.suspect[0] and found[1] == self.suspect[1])
        )
        self.suspect, self.strikes = found, (self.strikes + new if same else new)
        if found is None or self.strikes < self.limit:
            return None
        self.suspect, self.strikes = None, 0
        return found


@dataclass
class Counts:
    published: int = 0
    republished: int = 0
    acked: int = 0
    rejected: int = 0
    forged_acks: int = 0
    parked: int = 0
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
