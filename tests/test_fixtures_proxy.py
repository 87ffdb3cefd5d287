"""The fault-injecting TCP proxy: forwarding, each fault, then MQTT and PostgreSQL through it."""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.fixtures.brokers import BrokerEndpoint, MqttTestClient
from tests.fixtures.proxy import FaultProxy, ProxyFactory


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll condition until it holds; False if it never did within timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class EchoServer:
    """Echoes every byte back; records what each connection received and how it ended."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self.received: list[bytearray] = []
        self.endings: queue.Queue[str] = queue.Queue()  # "eof" or "reset", one per connection
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, name="echo-accept")]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            received = bytearray()
            self.received.append(received)
            thread = threading.Thread(
                target=self._echo, args=(conn, received), name=f"echo-{len(self.received)}"
            )
            self._threads.append(thread)
            thread.start()

    def _echo(self, conn: socket.socket, received: bytearray) -> None:
        conn.settimeout(0.1)
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except ConnectionResetError:
                    self.endings.put("reset")
                    return
                if not data:
                    self.endings.put("eof")
                    return
                received += data
                try:
                    conn.sendall(data)
                except OSError:
                    self.endings.put("reset")
                    return

    def close(self) -> None:
        """Stop accepting, end every connection and join the threads."""
        self._stop.set()
        for thread in list(self._threads):
            thread.join(5)
        self._listener.close()


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    """A running EchoServer, closed after the test."""
    server = EchoServer()
    yield server
    server.close()


@pytest.fixture
def echo_proxy(tcp_proxy: ProxyFactory, echo_server: EchoServer) -> FaultProxy:
    """A FaultProxy in front of the echo server."""
    return tcp_proxy("127.0.0.1", echo_server.port)


def connect(proxy: FaultProxy) -> socket.socket:
    """A client socket connected through the proxy, with a 5 s timeout."""
    sock = socket.create_connection((proxy.host, proxy.port), timeout=5)
    sock.settimeout(5)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    """Read size bytes, or fewer if the peer closes first."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def test_forwards_both_ways_and_counts(echo_proxy: FaultProxy) -> None:
    with connect(echo_proxy) as sock:
        sock.sendall(b"xin chao")
        assert recv_exactly(sock, 8) == b"xin chao"
    assert wait_until(lambda: echo_proxy.bytes_down == 8)
    assert echo_proxy.bytes_up == 8
    assert echo_proxy.connections == 1


def test_blackhole_keeps_the_connection_but_loses_the_bytes(
    echo_proxy: FaultProxy, echo_server: EchoServer
) -> None:
    with connect(echo_proxy) as sock:
        sock.sendall(b"before")
        assert recv_exactly(sock, 6) == b"before"
        echo_proxy.blackhole()
        sock.sendall(b"lost")
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):  # neither an echo nor an EOF: the link just went quiet
            sock.recv(100)
        echo_proxy.heal()
        sock.settimeout(5)
        sock.sendall(b"after")
        assert recv_exactly(sock, 5) == b"after"
    assert echo_server.received[0] == b"beforeafter"
    assert echo_proxy.bytes_dropped == 4


def test_blackhole_hides_a_close_until_heal_resets_the_far_end(
    echo_proxy: FaultProxy, echo_server: EchoServer
) -> None:
    sock = connect(echo_proxy)
    sock.sendall(b"ping")
    assert recv_exactly(sock, 4) == b"ping"
    echo_proxy.blackhole()
    sock.close()
    assert wait_until(lambda: echo_proxy.half_open == 1)
    assert echo_server.endings.empty()
    echo_proxy.heal()
    assert echo_server.endings.get(timeout=5) == "reset"


def test_new_connection_through_blackhole_is_silent(echo_proxy: FaultProxy) -> None:
    echo_proxy.blackhole()
    with connect(echo_proxy) as sock:
        sock.sendall(b"hello?")
        assert wait_until(lambda: echo_proxy.half_open == 1)
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(100)
        echo_proxy.heal()
        sock.settimeout(5)
        with pytest.raises(ConnectionResetError):
            sock.recv(100)


def test_reset_all_sends_rst_both_ways(echo_proxy: FaultProxy, echo_server: EchoServer) -> None:
    with connect(echo_proxy) as sock:
        sock.sendall(b"ping")
        assert recv_exactly(sock, 4) == b"ping"
        echo_proxy.reset_all()
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
    assert echo_server.endings.get(timeout=5) == "reset"
    assert echo_proxy.active_connections == 0


def test_refuse_closes_new_connections_only(echo_proxy: FaultProxy) -> None:
    with connect(echo_proxy) as old:
        old.sendall(b"a")
        assert recv_exactly(old, 1) == b"a"
        echo_proxy.refuse()
        with connect(echo_proxy) as refused:
            assert refused.recv(100) == b""
        old.sendall(b"b")
        assert recv_exactly(old, 1) == b"b"
    assert echo_proxy.refused == 1
    echo_proxy.heal()
    with connect(echo_proxy) as sock:
        sock.sendall(b"c")
        assert recv_exactly(sock, 1) == b"c"


def test_cut_after_resets_once_n_bytes_went_through(
    echo_proxy: FaultProxy, echo_server: EchoServer
) -> None:
    with connect(echo_proxy) as sock:
        sock.sendall(b"abc")
        assert recv_exactly(sock, 3) == b"abc"
        echo_proxy.cut_after(4)
        sock.sendall(b"defghijk")
        with pytest.raises(ConnectionResetError):
            recv_exactly(sock, 8)
    assert echo_server.endings.get(timeout=5) == "reset"
    assert echo_server.received[0] == b"abcdefg"
    with connect(echo_proxy) as sock:  # one-shot: the next connection passes again
        sock.sendall(b"xyz")
        assert recv_exactly(sock, 3) == b"xyz"


def test_mode_rejects_unknown_values(echo_proxy: FaultProxy) -> None:
    with pytest.raises(ValueError, match="unknown proxy mode"):
        echo_proxy.mode = "flaky"  # type: ignore[assignment]


def test_mqtt_publish_stalls_in_blackhole_and_resumes_after_reconnect(
    tcp_proxy: ProxyFactory, broker: BrokerEndpoint
) -> None:
    proxy = tcp_proxy(broker.host, broker.port)
    topic = f"{broker.topic_prefix}/dev1/evidence"
    with (
        MqttTestClient(broker.host, broker.port, broker.client_id("ingest")) as ingest,
        MqttTestClient(proxy.host, proxy.port, broker.client_id("dev1")) as device,
    ):
        ingest.connect()
        ingest.subscribe(topic)
        device.paho.reconnect_delay_set(min_delay=1, max_delay=1)
        assert not device.connect().is_failure
        device.publish(topic, b"first").wait_for_publish(10)
        assert ingest.next_message().payload == b"first"

        proxy.blackhole()
        stalled = device.publish(topic, b"second")
        stalled.wait_for_publish(1.0)
        assert not stalled.is_published()

        proxy.heal()
        proxy.reset_all()  # paho resends an unacknowledged QoS 1 message only on reconnect
        assert device.disconnects.get(timeout=10).is_failure
        stalled.wait_for_publish(15)
        assert stalled.is_published()
        assert ingest.next_message().payload == b"second"


def test_mqtt_reset_fires_on_disconnect(tcp_proxy: ProxyFactory, broker: BrokerEndpoint) -> None:
    proxy = tcp_proxy(broker.host, broker.port)
    with MqttTestClient(proxy.host, proxy.port, broker.client_id("dev2")) as device:
        assert not device.connect().is_failure
        proxy.reset_all()
        assert device.disconnects.get(timeout=10).is_failure


@pytest.mark.postgres
def test_postgres_connection_through_proxy_sees_the_reset(tcp_proxy: ProxyFactory) -> None:
    psycopg = pytest.importorskip("psycopg")
    url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    params = psycopg.conninfo.conninfo_to_dict(
        url.replace("postgresql+psycopg://", "postgresql://")
    )
    target = (str(params.get("host", "127.0.0.1")), int(params.get("port", 5432)))
    proxy = tcp_proxy(*target)
    params.update(host=proxy.host, port=proxy.port, connect_timeout=5)
    try:
        conn = psycopg.connect(**params)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {target[0]}:{target[1]}: {exc}")
    with conn:
        assert conn.execute("select 1").fetchone() == (1,)
        proxy.reset_all()
        with pytest.raises(psycopg.OperationalError):
            conn.execute("select 1")
