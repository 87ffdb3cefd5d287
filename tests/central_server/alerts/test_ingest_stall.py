"""A real ingest over a real broker: `/metrics` moves while it stores packets, and the alert
fires when it stops (the box keeps talking to the broker) and clears once it is back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlmodel import select

from central_server.alerts.delivery import channels_from_settings
from central_server.alerts.jobs import check_alerts
from central_server.app import create_app
from central_server.ingest import IngestService
from central_server.models import Packet
from central_server.settings import Settings
from protocol.chunks import split_packet
from protocol.ids import new_packet_id
from protocol.status import encode_status
from protocol.topics import Topics
from tests.central_server.alerts.sinks import WebhookSink, webhook_sink
from tests.central_server.api.harness import auth_settings
from tests.central_server.devices.fleet_helpers import heartbeat
from tests.factories import DEVICE_ID, make_packet
from tests.factories import test_device_key as device_key  # not collected as a test
from tests.factories_db import make_device, make_device_key
from tests.fixtures.brokers import BrokerEndpoint, MqttTestClient
from tests.fixtures.db import Database

WAIT_S = 20.0  # a bound on the broker round trip, never a timing assertion
STALL_S = 2.0  # the alert threshold this test uses (production: 15 minutes)
TOKEN = "metrics-token-" + "e" * 32


class Box:
    """The device's MQTT client: a heartbeat every 0.2 s from a thread, packets on demand."""

    def __init__(self, broker: BrokerEndpoint) -> None:
        self.topics = Topics(broker.topic_prefix)
        self.client = MqttTestClient(broker.host, broker.port, broker.client_id("box"))
        self.client.connect()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="test-box-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(0.2):
            beat = heartbeat(DEVICE_ID, datetime.now(timezone.utc))
            self.client.publish(self.topics.status(DEVICE_ID), encode_status(beat), qos=1)

    def start(self) -> None:
        """Start the heartbeats."""
        self._thread.start()

    def send_packets(self, count: int, first_seq: int) -> None:
        """Publish `count` signed packets, each as 64 KiB chunks."""
        for seq in range(first_seq, first_seq + count):
            header, data = make_packet(seq=seq, packet_id=new_packet_id())
            for chunk in split_packet(header.packet_id, data, 64 * 1024):
                self.client.publish(self.topics.evidence(DEVICE_ID), chunk, qos=1)

    def close(self) -> None:
        """Stop beating and disconnect."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(WAIT_S)
        self.client.close()


def _eventually(probe: Callable[[], bool], every_s: float = 0.1) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(every_s)
    raise AssertionError("the condition did not come true in time")


@pytest.fixture
def hook() -> Iterator[WebhookSink]:
    """Where the alerts go."""
    with webhook_sink() as sink:
        yield sink


def test_metrics_move_while_ingesting_and_an_alert_fires_when_the_ingest_stops(
    db: Database, broker: BrokerEndpoint, tmp_path: Path, hook: WebhookSink
) -> None:
    with db.session() as session:
        make_device(session, id=DEVICE_ID)
        make_device_key(session, private_key=device_key(), device_id=DEVICE_ID)
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        database_url=db.url,
        secret_key="stall-test-secret-" + "s" * 32,
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        topic_prefix=broker.topic_prefix,
        metrics_token=SecretStr(TOKEN),
        alert_ingest_stall_s=STALL_S,
        alert_webhook_url=hook.url,
        alert_disk_used_pct=100,
    )
    app = create_app(settings, db.engine, auth_settings=auth_settings())
    app.state.metrics_collector.cache_s = 0
    api = TestClient(app)

    def sample(name: str, **labels: str) -> float:
        response = api.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        for family in text_string_to_metric_families(response.text):
            for found in family.samples:
                if found.name == f"trafficwatch_{name}" and found.labels == labels:
                    return found.value
        raise AssertionError(f"no trafficwatch_{name} sample with {labels}")

    def stored() -> float:
        return sample("ingest_packets_stored", window="300s")

    def check() -> dict[str, object]:
        with db.session() as session:
            now = datetime.now(timezone.utc)
            return check_alerts(session, now, settings, channels_from_settings(settings))

    def packets() -> int:
        with db.session() as session:
            return len(session.exec(select(Packet)).all())

    client_id = broker.client_id("ingest")
    ingest = IngestService(settings, client_id=client_id)
    ingest.start()
    box = Box(broker)
    try:
        assert ingest.wait_ready(WAIT_S)
        box.start()
        assert stored() == 0
        box.send_packets(3, first_seq=1)
        _eventually(lambda: packets() == 3)
        assert stored() == 3  # the metric moved with the packets
        assert sample("devices_online") == 1  # its heartbeats came through the ingest
        assert sample("ingest_bytes_per_second") > 0
        assert check() == {"firing": 0}  # packets and heartbeats arrive: no alert

        ingest.stop()  # the box keeps beating and sends one more packet, into the broker
        box.send_packets(1, first_seq=4)
        _eventually(lambda: bool(check().get("fired")))
        assert [a["key"] for a in hook.calls[0]["json"]["fired"]] == ["ingest_stalled"]
        assert (
            "Không nhận được gói bằng chứng hay nhịp tim nào"
            in (hook.calls[0]["json"]["fired"][0]["message_vi"])
        )

        ingest = IngestService(settings, client_id=client_id)  # back, same broker session
        ingest.start()
        _eventually(lambda: packets() == 4)  # what waited in the broker is stored now
        _eventually(lambda: check().get("cleared") == ["ingest_stalled"])
    finally:
        box.close()
        ingest.stop()
        api.close()
    assert len(hook.calls) == 2
