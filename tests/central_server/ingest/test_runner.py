"""The ingest process over a real broker: chunks in, a signed ack out; restarts lose nothing."""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from central_server.ingest import IngestService, SchemaNotCurrentError, main
from central_server.models import Packet, ServerKey
from central_server.server_keys import load_or_create_server_key
from central_server.settings import Settings, get_settings
from protocol.ack import open_ack
from protocol.chunks import split_packet
from protocol.enums import AckStatus
from protocol.keys import key_id
from protocol.topics import Topics
from tests.factories import DEVICE_ID, make_packet
from tests.factories import test_device_key as device_key  # not collected as a test
from tests.factories_db import make_device, make_device_key
from tests.fixtures.brokers import BrokerEndpoint, MqttTestClient, OwnedBrokerFactory
from tests.fixtures.db import Database
from tests.fixtures.proxy import ProxyFactory

WAIT_S = 20.0  # generous bound for the broker round trip; never a timing assertion


def _settings(tmp_path: Path, broker: BrokerEndpoint, database_url: str, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        database_url=database_url,
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        topic_prefix=broker.topic_prefix,
        ingest_workers=2,
        **extra,
    )


def _enrol(db: Database) -> None:
    with db.session() as session:
        make_device(session, id=DEVICE_ID)
        make_device_key(session, private_key=device_key(), device_id=DEVICE_ID)


@pytest.fixture
def box(broker: BrokerEndpoint) -> Iterator[MqttTestClient]:
    """The device's MQTT client, subscribed to its ack topic."""
    client = MqttTestClient(broker.host, broker.port, broker.client_id("box"))
    client.connect()
    client.subscribe(Topics(broker.topic_prefix).ack(DEVICE_ID))
    yield client
    client.close()


def _publish_packet(box: MqttTestClient, broker: BrokerEndpoint, chunk_size: int) -> bytes:
    header, data = make_packet()
    topic = Topics(broker.topic_prefix).evidence(DEVICE_ID)
    for chunk in split_packet(header.packet_id, data, chunk_size):
        box.publish(topic, chunk, qos=1).wait_for_publish(WAIT_S)
    return data


def test_chunks_published_through_the_broker_are_stored_and_acked(
    db: Database, broker: BrokerEndpoint, box: MqttTestClient, tmp_path: Path
) -> None:
    _enrol(db)
    settings = _settings(tmp_path, broker, db.url)
    service = IngestService(settings, client_id=broker.client_id("ingest"))
    service.start()
    try:
        assert service.wait_ready(WAIT_S)
        _publish_packet(box, broker, chunk_size=200)
        message = box.next_message(WAIT_S)
    finally:
        service.stop()

    server_key = load_or_create_server_key(settings.server_key_path)
    ack = open_ack(message.payload, server_key.public_key())
    assert ack.status is AckStatus.stored and ack.device_id == DEVICE_ID
    with db.session() as session:
        assert session.exec(select(Packet)).one().packet_id == ack.packet_id
        # The key that signs acks was created on first start and recorded for verifiers.
        assert session.get(ServerKey, key_id(server_key)) is not None


def test_a_message_taken_while_the_database_is_down_is_redelivered_after_a_restart(
    db: Database,
    broker: BrokerEndpoint,
    box: MqttTestClient,
    tmp_path: Path,
    tcp_proxy: ProxyFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if db.kind != "postgresql":
        pytest.skip("cuts the database connection with a TCP proxy: PostgreSQL only")
    _enrol(db)
    url = make_url(db.url)
    proxy = tcp_proxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host=proxy.host, port=proxy.port).render_as_string(hide_password=False)
    settings = _settings(tmp_path, broker, proxied)
    client_id = broker.client_id("ingest")  # the same session across the restart
    first = IngestService(settings, client_id=client_id)
    first.start()
    assert first.wait_ready(WAIT_S)
    proxy.refuse()
    proxy.reset_all()
    with caplog.at_level(logging.WARNING, logger="central_server.ingest.runner"):
        _publish_packet(box, broker, chunk_size=1 << 20)
        assert _wait_for_log(caplog, "storage unavailable")
        first.stop()  # not stored, so not PUBACKed: the broker keeps it for the session
    with pytest.raises(queue.Empty):
        box.next_message(timeout=0.5)  # no ack for what is not stored

    proxy.heal()
    second = IngestService(settings, client_id=client_id)
    second.start()
    try:
        message = box.next_message(WAIT_S)
    finally:
        second.stop()
    ack = open_ack(
        message.payload, load_or_create_server_key(settings.server_key_path).public_key()
    )
    assert ack.status is AckStatus.stored
    with db.session() as session:
        assert len(session.exec(select(Packet)).all()) == 1


def _wait_for_log(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if any(text in record.getMessage() for record in caplog.records):
            return True
        time.sleep(0.05)
    return False


def test_an_unmigrated_database_is_refused_with_a_clear_message(
    tmp_path: Path, broker: BrokerEndpoint, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(SchemaNotCurrentError, match="trafficwatch server migrate"):
        IngestService(_settings(tmp_path, broker, empty)).start()

    monkeypatch.setenv("TW_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("TW_DATABASE_URL", empty)
    monkeypatch.setenv("TW_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert main([]) == 1
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "trafficwatch server migrate" in err and "Lược đồ CSDL chưa cập nhật" in err


@pytest.mark.mosquitto
def test_a_broker_refusing_the_credentials_stops_the_ingest_with_an_alert(
    db: Database, owned_broker: OwnedBrokerFactory, tmp_path: Path
) -> None:
    mosquitto = owned_broker(password_file={"ingest": "right"}, allow_anonymous=False)
    endpoint = mosquitto.endpoint()
    settings = _settings(tmp_path, endpoint, db.url, mqtt_username="ingest", mqtt_password="wrong")
    service = IngestService(settings, client_id=endpoint.client_id("ingest"))
    service.start()
    try:
        assert service.wait(WAIT_S)  # stops by itself rather than retrying for ever
    finally:
        service.stop()
    assert service.fatal is not None and "refused" in service.fatal


def test_the_ingest_command_serves_until_sigterm(
    db: Database, broker: BrokerEndpoint, box: MqttTestClient, tmp_path: Path
) -> None:
    _enrol(db)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TW_")},
        "TW_ENV_FILE": str(tmp_path / "absent.env"),
        "TW_DATA_DIR": str(tmp_path),
        "TW_DATABASE_URL": db.url,
        "TW_MQTT_HOST": broker.host,
        "TW_MQTT_PORT": str(broker.port),
        "TW_TOPIC_PREFIX": broker.topic_prefix,
    }
    command = [sys.executable, "-m", "trafficwatch.cli", "server", "ingest"]
    command += ["--client-id", broker.client_id("ingest-cli")]
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as process:
        lines = _lines_of(process)
        try:
            assert _wait_for_line(lines, "subscribed to")
            _publish_packet(box, broker, chunk_size=300)
            ack = box.next_message(WAIT_S)
        finally:
            process.send_signal(signal.SIGTERM)
            returncode = process.wait(WAIT_S)

    assert returncode == 0
    server_key = load_or_create_server_key(tmp_path / "keys" / "server_ed25519.pem")
    assert open_ack(ack.payload, server_key.public_key()).status is AckStatus.stored


def _lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """Read the process's stderr on a thread, line by line, into a queue."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)

    threading.Thread(target=read, name="test-ingest-stderr", daemon=True).start()
    return lines


def _wait_for_line(lines: queue.Queue[str], text: str) -> bool:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            if text in lines.get(timeout=0.1):
                return True
        except queue.Empty:
            continue
    return False
