"""An MQTT broker inside the server process, for `trafficwatch demo` and as a test fallback.

It wraps amqtt's `Broker` in a named thread with its own asyncio loop, so synchronous code (the
demo command, pytest fixtures) can start and stop it. It is meant for one machine and a handful of
clients; production uses Mosquitto or EMQX (see DESIGN.md, "Growing past one machine").
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading
import time
from types import TracebackType
from typing import Any

from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session

logger = logging.getLogger(__name__)

# amqtt logs every connection and state change at INFO; a demo terminal should stay readable.
_NOISY_LOGGERS = ("amqtt", "transitions")
_SHARE_PREFIX = "$share/"


class EmbeddedBrokerError(RuntimeError):
    """The embedded broker could not start or stop."""


class OpenAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """Accepts every client without marking it anonymous.

    amqtt's own AnonymousAuthPlugin flags every session as anonymous, and amqtt then drops the
    persistent session (and the QoS 1 messages queued for it) of an anonymous client as soon as it
    disconnects. The edge agent relies on a persistent session, so this plugin keeps MQTT's rules.
    """

    async def authenticate(self, *, session: Session) -> bool:
        """Accept any client (the demo broker listens on loopback only)."""
        return True


class _SharingBroker(Broker):  # type: ignore[misc]
    """amqtt's broker plus `$share/<group>/<filter>` subscriptions.

    amqtt 0.12.1 has no shared subscriptions: such a filter would never match a topic. Here a shared
    filter matches like the plain filter, so every member of a group receives every message: exactly
    MQTT's semantics for a group of one (the demo runs one ingest worker), fan-out beyond that.
    """

    def _matches(self, topic: str, a_filter: str) -> bool:
        if a_filter.startswith(_SHARE_PREFIX):
            parts = a_filter.split("/", 2)
            if len(parts) < 3 or not parts[1]:
                return False
            a_filter = parts[2]
        return bool(super()._matches(topic, a_filter))


def _broker_config(host: str, port: int) -> dict[str, Any]:
    """One TCP listener, open auth, and none of amqtt's logging or $SYS plugins."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {f"{__name__}.OpenAuthPlugin": {}},
    }


def _quiet_amqtt_loggers() -> None:
    for name in _NOISY_LOGGERS:
        noisy = logging.getLogger(name)
        # Only where nobody configured it: an explicit DEBUG set by a developer wins.
        if noisy.level == logging.NOTSET:
            noisy.setLevel(logging.WARNING)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def mqtt_handshake(host: str, port: int, timeout: float = 2.0) -> bool:
    """Return True when an MQTT 3.1.1 broker at host:port accepts an anonymous CONNECT."""
    # A bare TCP connect-and-close makes amqtt log an error, so speak just enough MQTT:
    # CONNECT (clean session, keepalive 10 s), expect CONNACK "accepted", then DISCONNECT.
    client_id = b"tw-embedded-probe"
    body = b"\x00\x04MQTT\x04\x02\x00\x0a" + len(client_id).to_bytes(2, "big") + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(bytes([0x10, len(body)]) + body)
            connack = _recv_exactly(sock, 4)
            sock.sendall(b"\xe0\x00")
    except OSError:
        return False
    return connack == b"\x20\x02\x00\x00"


def _port_in_use(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
            return True
        cause = cause.__cause__
    return False


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what amqtt left behind so no task or generator outlives the loop."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        logger.debug("cancelling %d leftover broker tasks", len(pending))
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


class EmbeddedBroker:
    """amqtt's MQTT broker running in a background thread; port 0 picks a free port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host = host
        self._requested_port = port
        self._port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def port(self) -> int:
        """The TCP port the broker listens on (the real one when constructed with port 0)."""
        return self._port

    def is_running(self) -> bool:
        """Whether the broker thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker and return once it answers an MQTT CONNECT."""
        if self.is_running():
            raise EmbeddedBrokerError("embedded broker already running")
        _quiet_amqtt_loggers()
        self._check_port_free()
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(
            target=self._run, name=f"embedded-mqtt-broker-{self._requested_port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        if not self._ready.wait(timeout):
            self.stop()
            raise EmbeddedBrokerError(f"embedded broker did not start within {timeout} s")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._start_error(self._error)
        while not mqtt_handshake(self.host, self._port, timeout=1.0):
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedBrokerError(
                    f"embedded broker on {self.host}:{self._port} not answering"
                )
            time.sleep(0.05)
        logger.info("embedded MQTT broker listening on %s:%d", self.host, self._port)

    def _check_port_free(self) -> None:
        # Checked here because amqtt reports a taken port with an ERROR traceback in the log;
        # a demo started next to a system Mosquitto deserves one clear sentence instead.
        if self._requested_port == 0:
            return
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio binds
            try:
                sock.bind((self.host, self._requested_port))
            except OSError as exc:
                raise self._start_error(exc) from exc

    def _start_error(self, exc: BaseException) -> EmbeddedBrokerError:
        where = f"{self.host}:{self._requested_port}"
        if _port_in_use(exc):
            error = EmbeddedBrokerError(
                f"Cổng {where} đang được chương trình khác sử dụng / port {where} already in use"
            )
        else:
            error = EmbeddedBrokerError(f"embedded broker failed to start on {where}: {exc}")
        error.__cause__ = exc
        return error

    def stop(self, timeout: float = 10.0) -> None:
        """Disconnect every client, close the listener and end the thread."""
        thread, loop, stop_requested = self._thread, self._loop, self._stop_requested
        if thread is None:
            return
        if loop is not None and stop_requested is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop_requested.set)
            except RuntimeError:
                pass  # the loop closed between the check and the call: the thread is ending
        thread.join(timeout)
        if thread.is_alive():
            raise EmbeddedBrokerError(f"embedded broker did not stop within {timeout} s")
        self._thread, self._loop, self._stop_requested = None, None, None
        logger.info("embedded MQTT broker on %s:%d stopped", self.host, self._port)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            _close_loop(loop)

    async def _serve(self) -> None:
        self._stop_requested = asyncio.Event()
        config = _broker_config(self.host, self._requested_port)
        try:
            broker = _SharingBroker(config, loop=asyncio.get_running_loop())
            await broker.start()
        except Exception as exc:  # handed to start(), which raises it in the caller's thread
            self._error = exc
            self._ready.set()
            return
        # amqtt exposes no bound address; with port 0 the real port is only on the server socket.
        self._port = broker._servers["default"].instance.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop_requested.wait()
        await broker.shutdown()

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
