"""Duplicate delivery: QoS 1 delivers twice, and a box republishes whatever lacks an ack."""

from __future__ import annotations

import random
import threading

from sqlmodel import col

from central_server.ingest.consumer import EvidenceConsumer
from central_server.models import Packet, Violation
from protocol.chunks import split_packet
from protocol.enums import AckStatus
from protocol.envelope import packet_sha256
from tests.reliability.box import build_packet
from tests.reliability.harness import CHUNK, Rig, Sender, wait_until


def test_every_chunk_delivered_twice_stores_the_packet_once(rig: Rig) -> None:
    key = rig.enrol("cam-a")
    rig.ingest()
    sender = Sender(rig, "cam-a")
    header, data = build_packet(key, "cam-a", 1, clip=40_000)
    chunks = split_packet(header.packet_id, data, CHUNK)
    doubled = [c for c in chunks for _ in range(2)]  # each chunk redelivered at once
    again = random.Random(1).sample(chunks, len(chunks))  # then the whole set, shuffled
    sender.send("cam-a", doubled + again)
    acks = [sender.ack()[1] for _ in range(2)]  # one per complete set: two sets went out
    sender.mqtt.close()

    for ack in acks:
        assert (ack.packet_id, ack.packet_sha256) == (header.packet_id, packet_sha256(data))
        assert ack.status in (AckStatus.stored, AckStatus.duplicate)
    assert rig.count(Packet, col(Packet.packet_id) == header.packet_id) == 1
    assert rig.count(Violation, col(Violation.packet_id) == header.packet_id) == 1


class AckThief:
    """Swallows the first ack of every packet between the ingest and the broker."""

    def __init__(self, consumer: EvidenceConsumer) -> None:
        self.stolen = 0
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()
        self._publish = consumer.publish_ack
        consumer.publish_ack = self._publish_ack  # type: ignore[method-assign]

    def _publish_ack(self, device_id: str, ack: bytes) -> None:
        # A repeated ack is byte for byte the first one (the ingest re-sends what it stored).
        with self._lock:
            first = ack not in self._seen
            self._seen.add(ack)
            if first:
                self.stolen += 1
        if not first:
            self._publish(device_id, ack)


def test_a_box_republishes_after_a_lost_ack_and_the_server_stores_once(rig: Rig) -> None:
    dev = rig.device("cam-lost-ack")
    key = rig.enrol(dev)
    service = rig.ingest()
    assert service.consumer is not None
    thief = AckThief(service.consumer)
    box = rig.box(dev, key)
    for seq in range(5):
        box.produce(seq)
    wait_until(lambda: box.depth() == 0, what="the republished packets to be acked")
    counters = box.publisher.counters()
    box.stop()
    # Usually all five are republished; one whose set two workers completed at once gets its
    # second (duplicate) ack without it.
    assert thief.stolen == 5 and counters.republished >= 1
    assert rig.check(box.paths).stored == 5
