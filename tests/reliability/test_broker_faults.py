"""Faults between the box and the server: the broker crashes, the link black-holes or resets, the
broker refuses a message over its size limit."""

from __future__ import annotations

import logging
import random
import re
import time

import pytest

from edge_agent.dead_letter import DeadLetterStore
from protocol.envelope import decode_packet
from tests.fixtures.brokers import OwnedBrokerFactory, OwnedMosquitto
from tests.fixtures.proxy import ProxyFactory
from tests.reliability.box import Box, build_packet, record_of
from tests.reliability.harness import Rig, wait_until

logger = logging.getLogger(__name__)


@pytest.mark.mosquitto
def test_the_broker_killed_and_restarted_while_the_box_produces_loses_nothing(
    rig: Rig, owned_broker: OwnedBrokerFactory
) -> None:
    dev = rig.device("cam-broker")
    mosquitto = owned_broker()  # no persistence: a kill forgets every session and message
    rig.endpoint = mosquitto.endpoint()
    key = rig.enrol(dev)
    rig.ingest()
    box = rig.box(dev, key)
    for seq in range(30):
        box.produce(seq)
        if seq == 10:
            mosquitto.kill()
        elif seq == 20:
            mosquitto.start()
        time.sleep(0.05)
    wait_until(lambda: box.depth() == 0, what="the outbox to drain after the broker came back")
    counters = box.publisher.counters()
    logger.info("after the broker's crash: %s", counters)
    assert counters.connections >= 2
    box.stop()
    verdict = rig.check(box.paths)
    assert verdict.stored == 30


def test_a_black_holed_uplink_then_healed_loses_nothing(rig: Rig, tcp_proxy: ProxyFactory) -> None:
    dev = rig.device("cam-blackhole")
    key = rig.enrol(dev)
    rig.ingest()
    link = tcp_proxy(rig.endpoint.host, rig.endpoint.port)
    # keepalive 1 s: paho notices a silent link after about two keepalives.
    box = rig.box(dev, key, host=link.host, port=link.port, keepalive=1)
    for seq in range(5):
        box.produce(seq)
    wait_until(lambda: rig.stored(dev) == 5, what="the first packets")
    link.blackhole()
    for seq in range(5, 15):  # published into the void: no PUBACK, no ack
        box.produce(seq)
        time.sleep(0.05)
    wait_until(lambda: not box.publisher.counters().connected, what="the box to notice")
    link.heal()
    wait_until(lambda: box.depth() == 0, what="the outbox to drain after the heal")
    logger.info("after the black hole: %s", box.publisher.counters())
    box.stop()
    assert rig.check(box.paths).stored == 15


def test_connections_reset_mid_publish_lose_nothing(rig: Rig, tcp_proxy: ProxyFactory) -> None:
    dev = rig.device("cam-reset")
    rng = random.Random()
    key = rig.enrol(dev)
    rig.ingest()
    link = tcp_proxy(rig.endpoint.host, rig.endpoint.port)
    box = rig.box(dev, key, host=link.host, port=link.port)
    seq = 0
    for cut in range(4):
        wait_until(lambda: box.publisher.counters().connected, what="the box to reconnect")
        connections = box.publisher.counters().connections
        # Somewhere inside the next few packets' chunks (each ~12 KB in 4 KiB chunks).
        link.cut_after(rng.randrange(50, 30_000))
        while box.publisher.counters().connections == connections:
            box.produce(seq)
            seq += 1
            time.sleep(0.05)
        logger.info("cut %d after %d packets, %d bytes dropped", cut, seq, link.bytes_dropped)
    wait_until(lambda: box.depth() == 0, what="the outbox to drain after the resets")
    logger.info("after the resets: %s", box.publisher.counters())
    box.stop()
    assert rig.check(box.paths).stored == seq


LIMIT = 16_384  # the broker's max_packet_size in these tests (Mosquitto 2.1 defaults to 2 MB)


def _oversize_rig(
    rig: Rig, owned_broker: OwnedBrokerFactory, chunk_size: int
) -> tuple[Box, OwnedMosquitto]:
    """A broker with a size limit, and a box whose first packet is four times that size."""
    dev = rig.device("cam-big")
    mosquitto = owned_broker(max_packet_size=LIMIT)
    rig.endpoint = mosquitto.endpoint()
    key = rig.enrol(dev)
    rig.ingest()
    box = rig.box(dev, key, chunk_size=chunk_size, clip=4 * LIMIT)
    box.produce(0)
    return box, mosquitto


@pytest.mark.mosquitto
def test_chunks_under_the_broker_limit_carry_a_packet_four_times_over_it(
    rig: Rig, owned_broker: OwnedBrokerFactory
) -> None:
    box, _ = _oversize_rig(rig, owned_broker, chunk_size=LIMIT // 2)
    for seq in range(1, 4):
        box.produce(seq)
    wait_until(lambda: box.depth() == 0, what="the chunked packets")
    box.stop()
    assert rig.check(box.paths).stored == 4


def _small_packet_behind(box: Box) -> str:
    """A packet well under the limit, queued behind the oversized one."""
    small = build_packet(box.key, box.config.device_id, 1, clip=0, still=1_000)[1]
    record = record_of(small)
    box.oracle.intend(record)
    box.outbox.put(decode_packet(small).header.packet_id, record.seq, small)
    box.oracle.handed(record)
    return record.packet_id


@pytest.mark.mosquitto
def test_a_chunk_over_the_broker_limit_stays_in_the_outbox(
    rig: Rig, owned_broker: OwnedBrokerFactory
) -> None:
    box, mosquitto = _oversize_rig(rig, owned_broker, chunk_size=8 * LIMIT)
    # What happens: Mosquitto disconnects the sender ("disconnected due to oversize packet"),
    # paho re-sends the same PUBLISH after each reconnect, and the broker disconnects it again.
    wait_until(lambda: box.publisher.counters().connections >= 3, what="the broker to refuse it")
    stats = box.outbox.stats()  # one read: the packet may be moving to the dead letters now
    assert stats.depth + stats.dead_letters == 1 and box.outbox.losses() == []  # kept, never lost
    assert rig.stored(box.config.device_id) == 0
    assert "disconnected due to oversize packet" in mosquitto.log_text()


@pytest.mark.mosquitto
def test_a_chunk_over_the_broker_limit_raises_an_alarm(
    rig: Rig, owned_broker: OwnedBrokerFactory
) -> None:
    box, _ = _oversize_rig(rig, owned_broker, chunk_size=8 * LIMIT)
    wait_until(lambda: box.publisher.counters().connections >= 3, what="the broker to refuse it")
    wait_until(lambda: box.publisher.counters().alarms != (), what="the alarm")
    counters = box.publisher.counters()
    assert counters.alarms == ("chunk_too_large",) and counters.parked == 1
    message = counters.alarm_messages["chunk_too_large"]
    assert message.startswith("Máy chủ MQTT") and " / " in message  # Vietnamese first
    sizes = re.search(r"mảnh (\d+) byte", message)
    assert sizes is not None and int(sizes[1]) > LIMIT  # the chunk's size, over the limit
    (letter,) = DeadLetterStore(box.outbox).list()  # set aside, kept on disk, resendable
    assert letter.reason == "chunk_too_large" and box.depth() == 0


@pytest.mark.mosquitto
def test_a_chunk_over_the_broker_limit_does_not_block_the_packets_behind_it(
    rig: Rig, owned_broker: OwnedBrokerFactory
) -> None:
    box, _ = _oversize_rig(rig, owned_broker, chunk_size=8 * LIMIT)
    small = _small_packet_behind(box)
    wait_until(lambda: box.publisher.counters().connections >= 3, what="the broker to refuse it")
    wait_until(lambda: rig.is_stored(small), timeout=5, what="the small packet")
