"""Fleet health over a real broker: the ingest takes heartbeats and last wills off `status`."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

import pytest
from sqlmodel import select

from central_server.devices.models_health import DeviceHealth, DeviceOnlineInterval, IntervalEnd
from central_server.ingest import IngestService
from central_server.models import Device
from central_server.settings import Settings
from protocol.status import encode_status, offline_status
from protocol.topics import Topics
from tests.central_server.devices.fleet_helpers import enrol, heartbeat
from tests.fixtures.brokers import BrokerEndpoint, MqttTestClient
from tests.fixtures.db import Database

BOX = "dh-cam-001"
WAIT_S = 20.0  # a bound on the broker round trip, never a timing assertion
_T = TypeVar("_T")


def _eventually(probe: Callable[[], _T | None]) -> _T:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError("the ingest did not record the status in time")


@pytest.fixture
def ingest(db: Database, broker: BrokerEndpoint, tmp_path: Path) -> Iterator[IngestService]:
    """A running ingest on the test's broker and database, BOX enrolled."""
    with db.session() as session:
        enrol(session, BOX)
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        database_url=db.url,
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        topic_prefix=broker.topic_prefix,
        ingest_workers=2,
    )
    service = IngestService(settings, client_id=broker.client_id("ingest"))
    service.start()
    try:
        assert service.wait_ready(WAIT_S)
        yield service
    finally:
        service.stop()


def _box(broker: BrokerEndpoint) -> MqttTestClient:
    box = MqttTestClient(broker.host, broker.port, broker.client_id("box"))
    status_topic = Topics(broker.topic_prefix).status(BOX)
    box.paho.will_set(status_topic, offline_status(BOX), qos=1, retain=True)
    return box


def _health(db: Database, ready: Callable[[DeviceHealth], bool]) -> DeviceHealth | None:
    with db.session() as session:
        health = session.get(DeviceHealth, BOX)
    return health if health is not None and ready(health) else None


def _clear_retained(broker: BrokerEndpoint) -> None:
    with MqttTestClient(broker.host, broker.port, broker.client_id("cleaner")) as cleaner:
        cleaner.connect()
        topic = Topics(broker.topic_prefix).status(BOX)
        cleaner.publish(topic, b"", qos=1, retain=True).wait_for_publish(WAIT_S)


def test_heartbeats_through_the_broker_update_the_device_row(
    db: Database, broker: BrokerEndpoint, ingest: IngestService
) -> None:
    box = _box(broker)
    box.connect()
    try:
        topic = Topics(broker.topic_prefix).status(BOX)
        for depth in (1, 6):
            beat = heartbeat(BOX, datetime.now(timezone.utc), depth=depth, offset_ms=-7.0)
            box.publish(topic, encode_status(beat), qos=1, retain=True).wait_for_publish(WAIT_S)
        health = _eventually(lambda: _health(db, lambda h: h.outbox_depth == 6))
    finally:
        box.close()
        _clear_retained(broker)
    assert health.online and health.clock_offset_ms == -7.0
    with db.session() as session:
        device = session.get(Device, BOX)
    assert device is not None and device.last_seen_at is not None


def test_a_box_that_vanishes_is_marked_offline_by_its_last_will(
    db: Database, broker: BrokerEndpoint, ingest: IngestService
) -> None:
    box = _box(broker)
    box.connect()
    topic = Topics(broker.topic_prefix).status(BOX)
    beat = heartbeat(BOX, datetime.now(timezone.utc), depth=2)
    box.publish(topic, encode_status(beat), qos=1, retain=True).wait_for_publish(WAIT_S)
    _eventually(lambda: _health(db, lambda h: h.online))
    try:
        # No DISCONNECT: the socket dies under the client, as when a box loses power.
        sock = box.paho.socket()
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)
        box.paho.loop_stop()
        health = _eventually(lambda: _health(db, lambda h: not h.online))
    finally:
        _clear_retained(broker)
    assert health.offline_since is not None
    with db.session() as session:
        intervals = session.exec(select(DeviceOnlineInterval)).all()
    assert [i.end_reason for i in intervals] == [IntervalEnd.offline]
