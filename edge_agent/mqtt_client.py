"""The box's MQTT connection: paho 2 with TLS, credentials, a persistent session and a last will.

Reconnection is our own supervisor thread rather than paho's loop_forever: paho's
`reconnect_delay_set` has no jitter, and a whole city of boxes coming back after a broker restart
must not reconnect in lockstep. The delay doubles from `reconnect_min` to `reconnect_max`, each
wait drawn between half the delay and the delay ("equal jitter"); it resets only after a session
stayed up `reconnect_stable` seconds: a broker that accepts us and then drops us at once (e.g.
over a message it refuses) must not be hammered at the minimum delay.
`renew_session()` replaces the paho client before the next connection: paho keeps unacknowledged
QoS 1 messages in memory and re-sends them on every reconnect, so a message the broker refuses
would otherwise come back for ever. The broker-side session (subscription, queued acks) survives,
since the new client connects with the same client id and clean_session=False.
A CONNACK refusing our credentials stops the reconnecting for good and raises an alarm: hammering
a broker with a wrong password helps nobody and may get the box banned.

Remember paho's documented limits: the session lives in memory only (in-flight messages die with
the process: the outbox is what survives), `loop_stop` does not flush, and QoS 1 may deliver twice.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from protocol.errors import TopicError
from protocol.limits import DEFAULT_CHUNK_SIZE, MAX_CHUNKS, MAX_PACKET_BYTES
from protocol.topics import DEFAULT_PREFIX, TopicKind, Topics, validate_device_id

logger = logging.getLogger(__name__)

# CONNACK reason codes (MQTT 5 numbering; paho maps the 3.1.1 return codes 4 and 5 onto them).
_AUTH_REFUSED = {134: "bad user name or password", 135: "not authorized"}


class RemoteRoute(Protocol):
    """Where the box's `config` and `cmd` messages go (`edge_agent.remote`); called on paho's
    thread, so both methods only record and enqueue."""

    def deliver(self, kind: TopicKind, payload: bytes) -> None:
        """Take one config or command message."""
        ...

    def link_up(self, link: MqttLink) -> None:
        """The link (re)connected and subscribed: replies may go out through it."""
        ...


@dataclass(frozen=True)
class PublisherSettings:
    """Everything the publisher needs, as plain values (the agent maps its config onto it)."""

    device_id: str
    host: str
    port: int = 8883
    topic_prefix: str = DEFAULT_PREFIX
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None  # TLS when set
    cert_file: str | None = None
    key_file: str | None = None
    keepalive: int = 60
    chunk_size: int = DEFAULT_CHUNK_SIZE
    max_in_flight: int = 4
    puback_timeout: float = 60.0
    reconnect_min: float = 1.0
    reconnect_max: float = 120.0
    reconnect_stable: float = 5.0  # a session shorter than this does not reset the backoff
    refused_after: int = 3  # disconnects on the same unacknowledged chunk before parking it
    poll_interval: float = 0.5
    shutdown_timeout: float = 10.0
    # Remote configuration and commands: subscribed to only when set.
    remote: RemoteRoute | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        validate_device_id(self.device_id)
        Topics(self.topic_prefix)
        if not 1024 <= self.chunk_size or MAX_PACKET_BYTES / self.chunk_size > MAX_CHUNKS:
            raise ValueError(f"chunk_size {self.chunk_size} must be >= 1024 and fit MAX_CHUNKS")
        if self.max_in_flight < 1 or not 0 < self.reconnect_min <= self.reconnect_max:
            raise ValueError("need max_in_flight >= 1 and 0 < reconnect_min <= reconnect_max")
        if self.refused_after < 1 or self.reconnect_stable < 0:
            raise ValueError("need refused_after >= 1 and reconnect_stable >= 0")


class Backoff:
    """The reconnect delay: doubling, capped, with equal jitter; reset by a lasting session."""

    def __init__(self, settings: PublisherSettings, rng: random.Random) -> None:
        self._settings = settings
        self._rng = rng
        self.delay = settings.reconnect_min

    def reset(self) -> None:
        """Back to the shortest delay."""
        self.delay = self._settings.reconnect_min

    def after_session(self, lasted: float) -> None:
        """A session ended after `lasted` seconds: only a lasting one proves the link is fine."""
        if lasted >= self._settings.reconnect_stable:
            self.reset()

    def next_wait(self) -> float:
        """Seconds to wait before the next attempt; the delay after it doubles."""
        wait = self._rng.uniform(self.delay / 2, self.delay)
        self.delay = min(self.delay * 2, self._settings.reconnect_max)
        return wait


class MqttLink:
    """One paho client and the named thread that keeps it connected."""

    def __init__(
        self,
        settings: PublisherSettings,
        will_payload: bytes,
        on_message: Callable[[str, bytes], None],
        on_connected: Callable[[mqtt.Client], None],
        stop: threading.Event,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)
        self._stop = stop
        self._on_message_hook = on_message
        self._on_connected_hook = on_connected
        self._backoff = Backoff(settings, rng or random.Random())
        self._thread: threading.Thread | None = None
        self._will_payload = will_payload
        self._renew = threading.Event()
        self._closed = threading.Event()
        self._up_at = 0.0
        self.connected = False
        self.connections = 0
        self.disconnects = 0  # sessions that were up and ended
        self.connect_attempts = 0
        self.auth_refused: str | None = None
        self.client = self._make_client(will_payload)
        self.generation = 0  # bumped after `client` is replaced: its message infos are void

    def _make_client(self, will_payload: bytes) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=s.device_id,
            clean_session=False,  # the broker keeps our ack subscription and queued acks
            protocol=mqtt.MQTTv311,
        )
        if s.ca_file is not None:
            client.tls_set(ca_certs=s.ca_file, certfile=s.cert_file, keyfile=s.key_file)
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        status = self.topics.status(s.device_id)
        client.will_set(status, will_payload, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        """Start the network thread; it connects, and reconnects until stopped or refused."""
        self._thread = threading.Thread(target=self._run, name="tw-mqtt-network", daemon=True)
        self._thread.start()

    def renew_session(self) -> None:
        """Forget every message paho holds: a new client (same id and broker session) connects."""
        self._renew.set()

    def _on_connect(
        self, client: mqtt.Client, _userdata: object, _flags: object, reason: ReasonCode, _p: object
    ) -> None:
        if reason.is_failure:
            refusal = _AUTH_REFUSED.get(int(reason.value))
            if refusal is not None:
                self.auth_refused = refusal
                logger.critical(
                    "MQTT broker refused our credentials (%s): not reconnecting", refusal
                )
            else:
                logger.warning("MQTT broker refused the connection: %s", reason)
            return
        self._up_at = time.monotonic()
        self.connected = True
        self.connections += 1
        logger.info("MQTT connected to %s:%d", self.settings.host, self.settings.port)
        client.subscribe(self.topics.ack(self.settings.device_id), qos=1)
        remote = self.settings.remote
        if remote is not None:
            device_id = self.settings.device_id
            client.subscribe([(self.topics.config(device_id), 1), (self.topics.cmd(device_id), 1)])
            remote.link_up(self)
        try:
            self._on_connected_hook(client)
        except Exception:  # a failing hook must not take paho's thread down
            logger.exception("on-connect hook failed")

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: object,
        reason: ReasonCode,
        _p: object,
    ) -> None:
        if self.connected:
            level = logging.INFO if self._stop.is_set() else logging.WARNING
            logger.log(level, "MQTT disconnected: %s", reason)
        self.connected = False

    def _on_message(
        self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage
    ) -> None:
        try:
            remote = self.settings.remote
            kind = self._remote_kind(message.topic) if remote is not None else None
            if remote is not None and kind is not None:
                remote.deliver(kind, bytes(message.payload))
                return
            self._on_message_hook(message.topic, bytes(message.payload))
        except Exception:  # never let a bad message reach paho's loop
            logger.exception("dropping an MQTT message on %s", message.topic)

    def _remote_kind(self, topic: str) -> TopicKind | None:
        try:
            device_id, kind = self.topics.parse(topic)
        except TopicError:
            return None
        ours = device_id == self.settings.device_id
        return kind if ours and kind in (TopicKind.config, TopicKind.cmd) else None

    def _run(self) -> None:
        first = True
        while not self._stop.is_set() and self.auth_refused is None:
            if self._renew.is_set():
                self._replace_client()
                first = True
                self._backoff.reset()  # what made the sessions short is gone
            self.connect_attempts += 1
            try:
                if first:
                    self.client.connect(
                        self.settings.host, self.settings.port, self.settings.keepalive
                    )
                    first = False
                else:
                    self.client.reconnect()
            except (OSError, ValueError) as exc:
                logger.warning("MQTT connect to %s failed: %s", self.settings.host, exc)
            else:
                before = self.connections
                self._loop_until_down()
                if self.connections > before:
                    self.disconnects += 1
                    self._backoff.after_session(time.monotonic() - self._up_at)
            if self._stop.is_set() or self.auth_refused is not None:
                break
            self._pause(self._backoff.next_wait())
        logger.info("MQTT network thread ends")

    def _pause(self, seconds: float) -> None:
        # Like stop.wait(), but a renewal requested meanwhile reconnects at once.
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and not self._renew.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._stop.wait(min(remaining, 0.2))

    def _replace_client(self) -> None:
        self._renew.clear()
        # The old client is down; paho closes its sockets when it is collected.
        self.client = self._make_client(self._will_payload)
        self.generation += 1  # after the swap: a reader seeing the new generation sees the client
        logger.warning("MQTT client replaced: messages paho held unacknowledged are dropped")

    def _loop_until_down(self) -> None:
        # Keep serving the connection even after stop is set: close() still needs it to send
        # the offline status and the DISCONNECT.
        asked = False
        while self.client.loop(timeout=0.2) == MQTTErrorCode.MQTT_ERR_SUCCESS:
            # A renewal needs this connection down first; after close() none may stay up (a
            # client swapped in while close() ran would otherwise connect and never end).
            renewing = self._renew.is_set() and not self._stop.is_set()
            if (renewing or self._closed.is_set()) and not asked:
                asked = True
                self.client.disconnect()
        self.connected = False

    def close(self, offline_payload: bytes, timeout: float) -> None:
        """Publish the retained offline status, disconnect cleanly and join the thread."""
        if self.connected:
            status = self.topics.status(self.settings.device_id)
            info = self.client.publish(status, offline_payload, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout / 2)
            except (ValueError, RuntimeError) as exc:
                logger.warning("offline status not sent: %s", exc)
        self._closed.set()
        self.client.disconnect()
        if self._thread is not None:
            self._thread.join(timeout / 2)
            if self._thread.is_alive():
                logger.error("MQTT network thread did not end within %.1f s", timeout / 2)
