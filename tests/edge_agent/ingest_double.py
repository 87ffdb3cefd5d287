"""A stand-in for the server's ingest: reassembles chunks and answers with sealed acks."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Literal

import paho.mqtt.client as mqtt

from protocol.ack import Ack, seal_ack
from protocol.chunks import Chunk, decode_chunk, reassemble
from protocol.enums import AckStatus, RejectReason
from protocol.envelope import decode_packet, packet_sha256
from protocol.keys import Ed25519PrivateKey
from protocol.topics import Topics
from tests.edge_agent.packets import FORGER_KEY, SERVER_KEY
from tests.fixtures.brokers import MqttTestClient

Mode = Literal["store", "silent", "reject", "forge"]


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Poll `condition` until true; fail the test after `timeout` (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


class IngestDouble:
    """Plays the server for one device: `mode` says how it answers each complete packet."""

    def __init__(self, host: str, port: int, prefix: str, device_id: str, mode: Mode) -> None:
        self.topics = Topics(prefix)
        self.device_id = device_id
        self.mode: Mode = mode
        self.arrivals: list[tuple[uuid.UUID, bytes]] = []  # every complete packet, repeats too
        self._pending: dict[uuid.UUID, dict[int, Chunk]] = {}
        self._lock = threading.Lock()
        self._mqtt = MqttTestClient(host, port, f"ingest-{device_id}")
        self._mqtt.paho.on_message = self._on_message

    def __enter__(self) -> IngestDouble:
        assert not self._mqtt.connect().is_failure
        self._mqtt.subscribe(self.topics.evidence(self.device_id))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._mqtt.close()

    def distinct(self) -> set[uuid.UUID]:
        """Packet ids received at least once."""
        with self._lock:
            return {packet_id for packet_id, _ in self.arrivals}

    def count(self, packet_id: uuid.UUID) -> int:
        """How many times a packet arrived whole."""
        with self._lock:
            return sum(1 for p, _ in self.arrivals if p == packet_id)

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        chunk = decode_chunk(message.payload)
        with self._lock:
            got = self._pending.setdefault(chunk.packet_id, {})
            got[chunk.index] = chunk
            if len(got) < chunk.count:
                return
            data = reassemble(self._pending.pop(chunk.packet_id).values())
            self.arrivals.append((chunk.packet_id, data))
        self.answer(chunk.packet_id, data, self.mode)

    def answer(self, packet_id: uuid.UUID, data: bytes, mode: Mode) -> None:
        """Send the ack `mode` calls for (none when silent)."""
        if mode == "silent":
            return
        rejected = mode == "reject"
        ack = Ack(
            packet_id=packet_id,
            packet_sha256=packet_sha256(data),
            device_id=self.device_id,
            seq=decode_packet(data).header.seq,
            status=AckStatus.rejected if rejected else AckStatus.stored,
            reason=RejectReason.unknown_device if rejected else None,
            detail="thiết bị chưa đăng ký" if rejected else "",
            acked_at=datetime.now(timezone.utc),
        )
        key: Ed25519PrivateKey = FORGER_KEY if mode == "forge" else SERVER_KEY
        # No waiting for the PUBACK: this may run on paho's own thread, which delivers it.
        self._mqtt.publish(self.topics.ack(self.device_id), seal_ack(ack, key))

    def answer_all(self, mode: Mode) -> None:
        """Answer every packet received so far (e.g. after staying silent)."""
        with self._lock:
            latest = dict(self.arrivals)
        for packet_id, data in latest.items():
            self.answer(packet_id, data, mode)

    def send_raw(self, payload: bytes) -> None:
        """Publish anything on the device's ack topic."""
        self._mqtt.publish(self.topics.ack(self.device_id), payload).wait_for_publish(10)
