"""A chunk the broker refuses: parked as a dead letter with an alarm, never blocking the rest."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.dead_letter import DeadLetterStore
from edge_agent.mqtt_client import Backoff, PublisherSettings
from edge_agent.outbox import Outbox
from edge_agent.publisher_state import InFlight, RefusalWatch, Suspect
from protocol.enums import MediaRole
from tests.edge_agent.conftest import PublisherFactory
from tests.edge_agent.ingest_double import IngestDouble, wait_until
from tests.edge_agent.packets import make_packet
from tests.fixtures.brokers import OwnedBrokerFactory

LIMIT = 16_384  # the private broker's max_packet_size


@pytest.mark.mosquitto
def test_a_refused_chunk_is_parked_with_an_alarm_and_the_packets_behind_it_get_through(
    owned_broker: OwnedBrokerFactory,
    device_id: str,
    start_publisher: PublisherFactory,
    tmp_path: Path,
) -> None:
    broker = owned_broker(max_packet_size=LIMIT).endpoint("tw/v1")
    outbox = Outbox(tmp_path / "outbox.db", min_free_bytes=0)
    big = make_packet(1, clip=4 * LIMIT)
    small = make_packet(2)
    for p in (big, small):
        outbox.put(p.packet_id, p.seq, p.data)
    with IngestDouble(broker.host, broker.port, "tw/v1", device_id, "store") as ingest:
        publisher = start_publisher(outbox, broker.host, broker.port, device_id=device_id)
        wait_until(lambda: small.packet_id in ingest.distinct(), what="the packet behind it")
        wait_until(lambda: outbox.stats().depth == 0, what="its ack")
    counters = publisher.counters()
    assert counters.alarms == ("chunk_too_large",) and counters.parked == 1
    message = counters.alarm_messages["chunk_too_large"]
    size = re.search(r"mảnh (\d+) byte", message)
    assert size is not None and int(size[1]) > LIMIT and str(big.packet_id) in message
    (letter,) = DeadLetterStore(outbox).list()
    assert (letter.packet_id, letter.reason) == (big.packet_id, "chunk_too_large")
    assert big.packet_id not in ingest.distinct()
    outbox.close()


@pytest.mark.mosquitto
def test_a_parked_packet_resent_after_lowering_the_chunk_size_arrives_whole(
    owned_broker: OwnedBrokerFactory,
    device_id: str,
    start_publisher: PublisherFactory,
    tmp_path: Path,
) -> None:
    broker = owned_broker(max_packet_size=LIMIT).endpoint("tw/v1")
    outbox = Outbox(tmp_path / "outbox.db", min_free_bytes=0)
    big = make_packet(1, clip=4 * LIMIT, stills={MediaRole.scene_at: 2_000})
    outbox.put(big.packet_id, big.seq, big.data)
    first = start_publisher(outbox, broker.host, broker.port, device_id=device_id)
    wait_until(lambda: first.counters().parked == 1, what="the packet parked")
    first.stop()
    assert DeadLetterStore(outbox).resend() == [big.packet_id]  # the technician's resend
    with IngestDouble(broker.host, broker.port, "tw/v1", device_id, "store") as ingest:
        second = start_publisher(
            outbox, broker.host, broker.port, device_id=device_id, chunk_size=LIMIT // 2
        )
        wait_until(lambda: outbox.stats().depth == 0, what="the resent packet acked")
        assert dict(ingest.arrivals)[big.packet_id] == big.data
    assert second.counters().alarms == () and DeadLetterStore(outbox).list() == []
    outbox.close()


def _flight(chunks: int = 1) -> InFlight:
    return InFlight(uuid.uuid4(), [], 0.0, sizes=(100,) * chunks)


def _oldest(flight: InFlight, index: int) -> Callable[[], Suspect]:
    return lambda: (flight, index)


def test_the_same_chunk_unacknowledged_at_three_disconnects_in_a_row_is_the_culprit() -> None:
    watch = RefusalWatch(limit=3)
    stuck, behind = _flight(), _flight()
    oldest: Suspect = (stuck, 0)
    assert watch.observe(0, lambda: oldest) is None  # no disconnect yet
    assert watch.observe(1, lambda: oldest) is None
    assert watch.observe(1, lambda: (behind, 0)) is None  # still the same disconnect
    assert watch.observe(2, lambda: oldest) is None
    assert watch.observe(3, lambda: oldest) == oldest
    assert watch.observe(4, lambda: oldest) is None  # counting starts again


def test_a_flapping_link_that_makes_progress_parks_nothing() -> None:
    watch = RefusalWatch(limit=3)
    flight = _flight(chunks=5)
    for disconnects in range(1, 6):  # each connection got one more chunk through
        assert watch.observe(disconnects, _oldest(flight, disconnects - 1)) is None
    assert watch.observe(6, lambda: None) is None  # everything acknowledged


def _waits(backoff: Backoff, sessions: list[float]) -> list[float]:
    waits = []
    for lasted in sessions:
        backoff.after_session(lasted)
        waits.append(backoff.next_wait())
    return waits


def test_short_lived_sessions_keep_the_reconnect_backoff_growing() -> None:
    settings = PublisherSettings(
        device_id="cam-backoff", host="localhost", reconnect_min=1.0, reconnect_max=16.0
    )
    waits = _waits(Backoff(settings, random.Random(7)), [0.1] * 6)
    # Equal jitter: the n-th wait lies between half the delay and the delay, which doubles.
    floors = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert all(floor <= wait <= 2 * floor for wait, floor in zip(waits, floors, strict=True))


def test_a_lasting_session_resets_the_reconnect_backoff() -> None:
    settings = PublisherSettings(
        device_id="cam-backoff", host="localhost", reconnect_min=1.0, reconnect_stable=5.0
    )
    backoff = Backoff(settings, random.Random(7))
    _waits(backoff, [0.1] * 5)
    (wait,) = _waits(backoff, [60.0])
    assert wait <= 1.0
