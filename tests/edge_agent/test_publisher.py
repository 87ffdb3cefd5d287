"""The publisher against a real broker, with a stand-in ingest that acks (or not)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.dead_letter import DeadLetterStore
from edge_agent.outbox import Outbox
from protocol.enums import MediaRole
from tests.edge_agent.conftest import PublisherFactory
from tests.edge_agent.ingest_double import IngestDouble, Mode, wait_until
from tests.edge_agent.packets import Packet, make_packet
from tests.fixtures.brokers import BrokerEndpoint, OwnedMosquitto, find_mosquitto


def _queue(outbox: Outbox, *packets: Packet) -> None:
    for p in packets:
        outbox.put(p.packet_id, p.seq, p.data)


def _box(tmp_path: Path, ack_timeout: float = 30.0) -> Outbox:
    return Outbox(tmp_path / "outbox.db", min_free_bytes=0, ack_timeout=ack_timeout, jitter=0)


def _ingest(broker: BrokerEndpoint, device_id: str, mode: Mode = "store") -> IngestDouble:
    return IngestDouble(broker.host, broker.port, broker.topic_prefix, device_id, mode)


def test_published_packets_arrive_unaltered_and_leave_on_the_ack(
    broker: BrokerEndpoint, device_id: str, start_publisher: PublisherFactory, tmp_path: Path
) -> None:
    outbox = _box(tmp_path)
    packets = [
        make_packet(1, clip=600_000, stills={MediaRole.scene_at: 200_000}),  # 13 chunks
        make_packet(2),
        make_packet(3, clip=70_000),
    ]
    _queue(outbox, *packets)
    with _ingest(broker, device_id) as ingest:
        publisher = start_publisher(
            outbox, broker.host, broker.port, device_id=device_id, topic_prefix=broker.topic_prefix
        )
        wait_until(lambda: outbox.stats().depth == 0, what="every packet acked")
        assert dict(ingest.arrivals) == {p.packet_id: p.data for p in packets}
    counters = publisher.counters()
    assert (counters.acked, counters.forged_acks, counters.in_flight) == (3, 0, 0)
    assert counters.published >= 3 and counters.connected


def test_a_forged_or_garbled_ack_leaves_the_packet_in_place(
    broker: BrokerEndpoint, device_id: str, start_publisher: PublisherFactory, tmp_path: Path
) -> None:
    outbox = _box(tmp_path, ack_timeout=1.0)
    packet = make_packet(1)
    _queue(outbox, packet)
    with _ingest(broker, device_id, mode="forge") as ingest:
        publisher = start_publisher(
            outbox, broker.host, broker.port, device_id=device_id, topic_prefix=broker.topic_prefix
        )
        wait_until(lambda: publisher.counters().forged_acks >= 1, what="the forged ack")
        ingest.send_raw(b"\xa0not an ack")
        wait_until(lambda: publisher.counters().forged_acks >= 2, what="the garbled ack")
        assert outbox.stats().depth == 1 and publisher.counters().acked == 0

        ingest.mode = "store"  # the real server answers the republished packet
        wait_until(lambda: outbox.stats().depth == 0, what="the genuine ack")
    assert publisher.counters().connected  # paho's thread survived the garbage


def test_a_rejected_packet_becomes_a_dead_letter_and_can_be_resent(
    broker: BrokerEndpoint, device_id: str, start_publisher: PublisherFactory, tmp_path: Path
) -> None:
    outbox = _box(tmp_path)
    packet = make_packet(1, clip=1_000)
    _queue(outbox, packet)
    with _ingest(broker, device_id, mode="reject") as ingest:
        publisher = start_publisher(
            outbox, broker.host, broker.port, device_id=device_id, topic_prefix=broker.topic_prefix
        )
        wait_until(lambda: outbox.stats().dead_letters == 1, what="the dead letter")
        (letter,) = DeadLetterStore(outbox).list()
        assert (letter.reason, letter.detail) == ("unknown_device", "thiết bị chưa đăng ký")
        assert outbox.stats().depth == 0 and publisher.counters().rejected == 1

        ingest.mode = "store"  # the device got registered; the technician resends
        assert DeadLetterStore(outbox).resend() == [packet.packet_id]
        wait_until(lambda: ingest.count(packet.packet_id) == 2, what="the resent packet")
        wait_until(lambda: outbox.stats().depth == 0, what="its ack")
    assert outbox.stats().dead_letters == 0


def test_a_packet_without_an_ack_is_published_again(
    broker: BrokerEndpoint, device_id: str, start_publisher: PublisherFactory, tmp_path: Path
) -> None:
    outbox = _box(tmp_path, ack_timeout=0.3)
    packet = make_packet(1)
    _queue(outbox, packet)
    with _ingest(broker, device_id, mode="silent") as ingest:
        publisher = start_publisher(
            outbox, broker.host, broker.port, device_id=device_id, topic_prefix=broker.topic_prefix
        )
        wait_until(lambda: ingest.count(packet.packet_id) >= 3, what="two republications")
        assert publisher.counters().republished >= 2
        assert outbox.stats().depth == 1


def test_no_more_than_max_in_flight_packets_await_an_ack(
    broker: BrokerEndpoint, device_id: str, start_publisher: PublisherFactory, tmp_path: Path
) -> None:
    outbox = _box(tmp_path, ack_timeout=600)
    packets = [make_packet(seq) for seq in range(1, 7)]
    _queue(outbox, *packets)
    with _ingest(broker, device_id, mode="silent") as ingest:
        publisher = start_publisher(
            outbox,
            broker.host,
            broker.port,
            device_id=device_id,
            topic_prefix=broker.topic_prefix,
            max_in_flight=2,
        )
        wait_until(lambda: publisher.counters().published == 2, what="two packets out")
        time.sleep(0.5)  # ten publisher cycles in which it must not send a third
        assert ingest.distinct() == {packets[0].packet_id, packets[1].packet_id}
        assert publisher.counters().in_flight == 2

        ingest.mode = "store"
        ingest.answer_all("store")
        wait_until(lambda: outbox.stats().depth == 0, what="the rest, two at a time")
    assert publisher.counters().republished == 0


def test_a_broker_down_at_start_is_waited_for_and_then_drained(
    unstarted_mosquitto: OwnedMosquitto,
    device_id: str,
    start_publisher: PublisherFactory,
    tmp_path: Path,
) -> None:
    host, port = unstarted_mosquitto.host, unstarted_mosquitto.port
    outbox = _box(tmp_path, ack_timeout=0.5)
    _queue(outbox, make_packet(1), make_packet(2, clip=100_000))
    publisher = start_publisher(outbox, host, port, device_id=device_id)
    wait_until(lambda: publisher.counters().connect_attempts >= 3, what="retries")
    assert not publisher.counters().connected

    unstarted_mosquitto.start()
    with _ingest(unstarted_mosquitto.endpoint("tw/v1"), device_id):
        wait_until(lambda: outbox.stats().depth == 0, what="the drained outbox")
    assert publisher.counters().connected


@pytest.fixture
def unstarted_mosquitto(tmp_path: Path) -> Iterator[OwnedMosquitto]:
    """A private mosquitto configured on a free port but not started yet."""
    binary = find_mosquitto()
    if binary is None:
        pytest.skip("mosquitto binary not found: apt-get install mosquitto")
    process = OwnedMosquitto(binary, tmp_path / "mosquitto")
    yield process
    process.stop()
