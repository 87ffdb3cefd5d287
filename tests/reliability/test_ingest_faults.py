"""Faults on the server side: the ingest killed around its commit, two ingest workers sharing the
stream chunk by chunk, the database out of reach."""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy.engine import make_url

from central_server.ingest.runner import IngestService
from protocol.chunks import decode_chunk
from tests.fixtures.brokers import BrokerEndpoint
from tests.fixtures.db import TEST_DATABASE_URL_ENV, _sqlite_database
from tests.fixtures.proxy import ProxyFactory
from tests.reliability.box import Box
from tests.reliability.harness import WAIT_S, Rig, wait_until
from tests.reliability.ingest_proc import CRASH_POINTS

logger = logging.getLogger(__name__)

SIGKILLED = -9


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_the_ingest_killed_around_its_commit_stores_every_packet_exactly_once(
    rig: Rig, point: str
) -> None:
    dev = rig.device("cam-crash")
    key = rig.enrol(dev)
    ingest = rig.ingest_process(ingest_workers=1)  # one worker: the third packet is the third
    ingest.start(crash_at=point, crash_on=3)
    box = rig.box(dev, key)
    for seq in range(8):
        box.produce(seq)
    assert ingest.wait_exit(WAIT_S) == SIGKILLED, f"the ingest never reached {point}"
    assert rig.stored(dev) == (2 if point == "before_commit" else 3)
    ingest.start()
    wait_until(lambda: box.depth() == 0, what="the outbox to drain after the restart")
    box.stop()
    assert rig.check(box.paths).stored == 8


def test_the_ingest_killed_at_random_moments_stores_every_packet_exactly_once(rig: Rig) -> None:
    dev = rig.device("cam-crash-random")
    rng = random.Random()
    key = rig.enrol(dev)
    ingest = rig.ingest_process()
    ingest.start()
    box = rig.box(dev, key)
    seq = 0
    for _kill in range(3):
        deadline = time.monotonic() + rng.uniform(0.2, 1.0)
        while time.monotonic() < deadline:  # packets flow while the moment approaches
            box.produce(seq)
            seq += 1
            time.sleep(0.03)
        ingest.kill()
        ingest.start()
    wait_until(lambda: box.depth() == 0, what="the outbox to drain after the last restart")
    box.stop()
    assert rig.check(box.paths).stored == seq


class _Tally:
    """Which ingest worker received which chunks (wrapped around paho's on_message)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_packet: dict[uuid.UUID, set[str]] = defaultdict(set)
        self.by_worker: dict[str, int] = defaultdict(int)

    def watch(self, name: str, service: IngestService) -> None:
        """Count what reaches `service` before handing it on as before."""
        assert service.consumer is not None
        client = service.consumer.client
        original = client.on_message
        assert original is not None

        def counting(c: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
            if message.topic.endswith("/evidence"):  # the ingest also hears heartbeats
                with self.lock:
                    self.by_packet[decode_chunk(message.payload).packet_id].add(name)
                    self.by_worker[name] += 1
            original(c, userdata, message)

        client.on_message = counting


def test_two_ingest_workers_on_a_shared_subscription_split_chunks_and_store_once(
    rig: Rig,
) -> None:
    if rig.endpoint.kind == "amqtt":
        pytest.skip("shared subscriptions need Mosquitto (amqtt has none)")
    group = f"ingest-{uuid.uuid4().hex[:6]}"
    tally = _Tally()
    for name in ("a", "b"):
        tally.watch(name, rig.ingest(f"ingest-{name}", ingest_shared_group=group))
    boxes: list[Box] = []
    for n in range(2):
        device = rig.device(f"cam-shared-{n}")
        boxes.append(rig.box(device, rig.enrol(device), clip=40_000, chunk_size=4096))
    for seq in range(10):
        for box in boxes:
            box.produce(seq)
    wait_until(lambda: all(b.depth() == 0 for b in boxes), what="both outboxes to drain")
    for box in boxes:
        box.stop()
    assert rig.check(*(b.paths for b in boxes)).stored == 20
    split = sum(1 for workers in tally.by_packet.values() if len(workers) == 2)
    logger.info("chunks per worker %s; %d of 20 packets split", dict(tally.by_worker), split)
    assert split > 10  # most packets' chunks met at the database, not in one worker


def _assert_held_back_then_stored(
    rig: Rig, box: Box, first: int, end_outage: Callable[[], object]
) -> None:
    """Packets made during an outage get no ack until it ends, then are stored once."""
    acked = box.publisher.counters().acked
    for seq in range(first, first + 3):
        box.produce(seq)
    time.sleep(2.0)  # chunks reach the ingest, which cannot store them
    assert box.depth() == 3 and box.publisher.counters().acked == acked, "acked while down"
    assert rig.stored(box.config.device_id) == first
    end_outage()
    wait_until(lambda: box.depth() == 0, what="the packets to be stored after the outage")


@pytest.mark.postgres
def test_a_database_out_of_reach_delays_the_ack_and_loses_nothing(
    rig: Rig, tcp_proxy: ProxyFactory
) -> None:
    dev = rig.device("cam-db")
    if not os.environ.get(TEST_DATABASE_URL_ENV):
        pytest.skip("cuts PostgreSQL off with a TCP proxy: set TEST_DATABASE_URL")
    url = make_url(rig.database.url)
    proxy = tcp_proxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host=proxy.host, port=proxy.port).render_as_string(hide_password=False)
    rig.ingest(database_url=proxied)
    box = rig.box(dev, rig.enrol(dev))
    box.produce(0)
    wait_until(lambda: box.depth() == 0, what="the first packet")

    proxy.refuse()  # connection refused: the ingest retries with backoff
    proxy.reset_all()
    _assert_held_back_then_stored(rig, box, 1, proxy.heal)
    proxy.blackhole()  # new connections hang: no answer at all
    proxy.reset_all()
    _assert_held_back_then_stored(rig, box, 4, proxy.heal)
    box.stop()
    assert rig.check(box.paths).stored == 7


@pytest.fixture
def sqlite_rig(tmp_path: Path, broker: BrokerEndpoint) -> Iterator[Rig]:
    """A rig on SQLite whatever TEST_DATABASE_URL says."""
    for database in _sqlite_database(tmp_path):
        system = Rig(tmp_path / "rig", database, broker)
        try:
            yield system
        finally:
            system.close()


def test_a_locked_sqlite_database_delays_the_ack_and_loses_nothing(sqlite_rig: Rig) -> None:
    rig = sqlite_rig
    dev = rig.device("cam-lock")
    rig.ingest()
    box = rig.box(dev, rig.enrol(dev))
    box.produce(0)
    wait_until(lambda: box.depth() == 0, what="the first packet")
    path = make_url(rig.database.url).database
    assert path is not None
    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")  # another writer holds the database (a backup, a migration)
    _assert_held_back_then_stored(rig, box, 1, lambda: locker.execute("ROLLBACK"))
    locker.close()
    box.stop()
    assert rig.check(box.paths).stored == 4
