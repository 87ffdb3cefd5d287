"""Chunk sets through the broker: assembled in memory when whole, staged durably when not."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from central_server.ingest import IngestService
from central_server.models import ChunkStage, Packet
from central_server.server_keys import load_or_create_server_key
from protocol.ack import open_ack
from protocol.chunks import split_packet
from protocol.enums import AckStatus
from protocol.topics import Topics
from tests.central_server.ingest.test_runner import WAIT_S, _enrol, _settings
from tests.factories import DEVICE_ID, make_packet
from tests.fixtures.brokers import BrokerEndpoint, MqttTestClient
from tests.fixtures.db import Database


@pytest.fixture
def box(broker: BrokerEndpoint) -> Iterator[MqttTestClient]:
    """The device's MQTT client, subscribed to its ack topic."""
    client = MqttTestClient(broker.host, broker.port, broker.client_id("box"))
    client.connect()
    client.subscribe(Topics(broker.topic_prefix).ack(DEVICE_ID))
    yield client
    client.close()


def _staged_inserts(db: Database) -> list[str]:
    """Every INSERT into chunk_stage the engine runs from now on."""
    seen: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CHUNK_STAGE"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", watch)
    return seen


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _count(db: Database, model: Any) -> int:
    with db.session() as session:
        return len(session.exec(select(model)).all())


def _service(db: Database, broker: BrokerEndpoint, tmp_path: Path, **kwargs: Any) -> IngestService:
    service = IngestService(
        _settings(tmp_path, broker, db.url, **kwargs),
        db.engine,
        client_id=broker.client_id("ingest"),
    )
    service.start()
    assert service.wait_ready(WAIT_S)
    return service


def test_a_whole_chunk_set_is_stored_without_touching_the_staging_table(
    db: Database, broker: BrokerEndpoint, box: MqttTestClient, tmp_path: Path
) -> None:
    _enrol(db)
    inserts = _staged_inserts(db)
    service = _service(db, broker, tmp_path)
    header, data = make_packet()
    chunks = split_packet(header.packet_id, data, 600)
    assert len(chunks) == 4
    topic = Topics(broker.topic_prefix).evidence(DEVICE_ID)
    try:
        for chunk in chunks:
            box.publish(topic, chunk, qos=1).wait_for_publish(WAIT_S)
        message = box.next_message(WAIT_S)
    finally:
        service.stop()

    key = load_or_create_server_key(service.settings.server_key_path)
    ack = open_ack(message.payload, key.public_key())
    assert ack.status is AckStatus.stored and ack.packet_id == header.packet_id
    assert _count(db, Packet) == 1
    assert inserts == []


def test_a_set_left_incomplete_is_staged_after_the_hold_and_completed_later(
    db: Database, broker: BrokerEndpoint, box: MqttTestClient, tmp_path: Path
) -> None:
    _enrol(db)
    service = _service(db, broker, tmp_path, ingest_chunk_hold_s=0.2)
    header, data = make_packet()
    chunks = split_packet(header.packet_id, data, 600)
    topic = Topics(broker.topic_prefix).evidence(DEVICE_ID)
    try:
        for chunk in chunks[:2]:  # the rest went to another process, or is still on its way
            box.publish(topic, chunk, qos=1).wait_for_publish(WAIT_S)
        _wait_until(lambda: _count(db, ChunkStage) == 2, "the held chunks to be staged")
        for chunk in chunks[2:]:
            box.publish(topic, chunk, qos=1).wait_for_publish(WAIT_S)
        message = box.next_message(WAIT_S)
    finally:
        service.stop()

    key = load_or_create_server_key(service.settings.server_key_path)
    assert open_ack(message.payload, key.public_key()).status is AckStatus.stored
    assert _count(db, Packet) == 1 and _count(db, ChunkStage) == 0
