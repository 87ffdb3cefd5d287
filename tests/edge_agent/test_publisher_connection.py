"""The publisher's connection: retained status, last will, refused credentials, TLS."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

from edge_agent.outbox import Outbox
from protocol.enums import DeviceState
from protocol.status import decode_status
from protocol.topics import Topics
from tests.edge_agent.conftest import PublisherFactory
from tests.edge_agent.ingest_double import IngestDouble, wait_until
from tests.edge_agent.packets import make_packet
from tests.factories import make_status
from tests.fixtures.brokers import (
    BrokerEndpoint,
    MqttTestClient,
    OwnedBrokerFactory,
    make_tls_files,
)

REPO = Path(__file__).resolve().parents[2]


def _watch_status(broker: BrokerEndpoint, device_id: str) -> MqttTestClient:
    watcher = MqttTestClient(broker.host, broker.port, f"watch-{uuid.uuid4().hex[:8]}")
    assert not watcher.connect().is_failure
    watcher.subscribe(Topics(broker.topic_prefix).status(device_id))
    return watcher


def _next_state(watcher: MqttTestClient) -> DeviceState:
    return decode_status(bytes(watcher.next_message(timeout=20).payload)).state


def test_status_is_online_while_running_and_retained_offline_after_stop(
    broker: BrokerEndpoint, device_id: str, start_publisher: PublisherFactory, tmp_path: Path
) -> None:
    outbox = Outbox(tmp_path / "o.db", min_free_bytes=0)
    with _watch_status(broker, device_id) as watcher:
        publisher = start_publisher(
            outbox, broker.host, broker.port, device_id=device_id, topic_prefix=broker.topic_prefix
        )
        assert _next_state(watcher) is DeviceState.online
        assert publisher.publish_status(make_status(device_id=device_id))
        heartbeat = decode_status(bytes(watcher.next_message(timeout=20).payload))
        assert heartbeat.device_id == device_id and heartbeat.metrics is not None

        publisher.stop()
        assert _next_state(watcher) is DeviceState.offline
    with _watch_status(broker, device_id) as late_comer:  # retained for whoever asks later
        assert _next_state(late_comer) is DeviceState.offline


_AGENT = textwrap.dedent(
    """
    import sys, threading
    from edge_agent.outbox import Outbox
    from edge_agent.publisher import Publisher, PublisherSettings
    from tests.edge_agent.packets import SERVER_KEY

    path, device, host, port, prefix = sys.argv[1:]
    settings = PublisherSettings(device_id=device, host=host, port=int(port), topic_prefix=prefix)
    Publisher(settings, Outbox(path, min_free_bytes=0), SERVER_KEY.public_key()).start()
    threading.Event().wait()
    """
)


def test_the_last_will_says_offline_when_the_agent_is_killed(
    broker: BrokerEndpoint, device_id: str, tmp_path: Path
) -> None:
    args = [str(tmp_path / "o.db"), device_id, broker.host, str(broker.port), broker.topic_prefix]
    with _watch_status(broker, device_id) as watcher:
        agent = subprocess.Popen([sys.executable, "-c", _AGENT, *args], cwd=REPO)
        try:
            assert _next_state(watcher) is DeviceState.online
        finally:
            agent.kill()  # SIGKILL: no goodbye, the broker speaks the will
            agent.wait()
        assert _next_state(watcher) is DeviceState.offline
    with _watch_status(broker, device_id) as late_comer:
        assert _next_state(late_comer) is DeviceState.offline


def test_refused_credentials_stop_the_reconnecting_and_raise_an_alarm(
    owned_broker: OwnedBrokerFactory,
    device_id: str,
    start_publisher: PublisherFactory,
    tmp_path: Path,
) -> None:
    mosquitto = owned_broker(password_file={device_id: "đúng-mật-khẩu"}, allow_anonymous=False)
    outbox = Outbox(tmp_path / "o.db", min_free_bytes=0)
    wrong = start_publisher(
        outbox,
        mosquitto.host,
        mosquitto.port,
        device_id=device_id,
        username=device_id,
        password="x",
    )
    wait_until(lambda: wrong.counters().alarms == ("auth_refused",), what="the alarm")
    time.sleep(1.0)  # two reconnect_max periods: it must not have tried again
    counters = wrong.counters()
    assert (counters.connect_attempts, counters.connected, counters.connections) == (1, False, 0)
    wrong.stop()

    right = start_publisher(
        outbox,
        mosquitto.host,
        mosquitto.port,
        device_id=device_id,
        username=device_id,
        password="đúng-mật-khẩu",
    )
    wait_until(lambda: right.counters().connected, what="the connection with the right password")
    assert right.counters().alarms == ()


def test_tls_with_a_client_certificate_carries_the_evidence(
    owned_broker: OwnedBrokerFactory,
    device_id: str,
    start_publisher: PublisherFactory,
    tmp_path: Path,
) -> None:
    tls = make_tls_files(tmp_path / "tls")
    mosquitto = owned_broker(tls=tls, require_certificate=True)
    assert mosquitto.tls_port is not None
    outbox = Outbox(tmp_path / "o.db", min_free_bytes=0)
    packet = make_packet(1, clip=100_000)
    outbox.put(packet.packet_id, packet.seq, packet.data)
    plain = mosquitto.endpoint("tw/v1")
    with IngestDouble(plain.host, plain.port, "tw/v1", device_id, "store") as ingest:
        start_publisher(
            outbox,
            "127.0.0.1",
            mosquitto.tls_port,
            device_id=device_id,
            ca_file=str(tls.cafile),
            cert_file=str(tls.client_certfile),
            key_file=str(tls.client_keyfile),
        )
        wait_until(lambda: outbox.stats().depth == 0, what="the packet over TLS")
        assert ingest.arrivals == [(packet.packet_id, packet.data)]
