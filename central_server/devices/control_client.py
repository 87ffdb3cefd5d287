"""The paho side of device control: a persistent session that writes config and cmd topics,
reads every box's reply topic, and PUBACKs a reply only once the worker has stored it.

`on_message` only enqueues (never touches the database, never raises); see `control`.
"""

from __future__ import annotations

import logging
import queue
import re
import socket
import ssl
import threading
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from central_server.settings import Settings
from protocol.topics import TopicKind, Topics

logger = logging.getLogger(__name__)

CONTROL_USER = "control"

PUBACK_TIMEOUT_S = 10.0
ENQUEUE_TIMEOUT_S = 5.0
KEEPALIVE_S = 30
# CONNACK codes (MQTT 3.1.1 and their MQTT 5 equivalents) that retrying cannot fix.
_REFUSED_FOR_GOOD = {4, 5, 0x86, 0x87, 0x8C}


def control_login(settings: Settings) -> tuple[str | None, str | None]:
    """(user, password) of the control client: its own user (`control` unless named, as
    `trafficwatch server broker-acl` writes it) once a control password is set, else the
    ingest's login (a broker without ACLs)."""
    if settings.control_mqtt_password is not None:
        name = settings.control_mqtt_username or CONTROL_USER
        return name, settings.control_mqtt_password.get_secret_value()
    password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
    return settings.control_mqtt_username or settings.mqtt_username, password


def default_client_id() -> str:
    """A client id fixed for this host, so a restart resumes the broker session."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40]
    return f"tw-control-{host}"


@dataclass(frozen=True)
class Inbound:
    """A reply as paho delivered it, PUBACKed only once stored."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int


class ControlClient:
    """One paho client with a persistent session, writing config/cmd and reading every reply."""

    def __init__(self, settings: Settings, inbox: queue.Queue[Inbound], client_id: str) -> None:
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)
        self.subscription = self.topics.subscription(TopicKind.reply)
        self.subscribed = threading.Event()
        self.refused: str | None = None
        self.generation = 0  # bumped on every CONNACK (a mid belongs to its connection)
        self._inbox = inbox
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self.client.manual_ack_set(True)
        username, secret = control_login(settings)
        if username:
            self.client.username_pw_set(username, secret)
        if settings.mqtt_tls:
            ca_file = str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None
            self.client.tls_set(ca_certs=ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.reconnect_delay_set(1, 30)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self) -> None:
        """Connect in the background (paho retries until the broker answers)."""
        s = self.settings
        logger.info("control client connecting to %s:%d", s.mqtt_host, s.mqtt_port)
        self.client.connect_async(s.mqtt_host, s.mqtt_port, keepalive=KEEPALIVE_S)
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect (un-PUBACKed replies stay with the broker) and stop paho."""
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self) -> bool:
        """Whether the subscription is in place."""
        return self.subscribed.is_set()

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> bool:
        """Publish QoS 1 and wait for the PUBACK; False when it did not get there."""
        try:
            info = self.client.publish(topic, payload, qos=1, retain=retain)
            info.wait_for_publish(PUBACK_TIMEOUT_S)
            return info.is_published()
        except (ValueError, RuntimeError) as exc:  # paho: not connected, queue full
            logger.warning("could not publish on %s: %s", topic, exc)
            return False

    def ack(self, message: Inbound) -> None:
        """PUBACK a stored reply (skipped for an earlier connection: redelivered anyway)."""
        if message.generation == self.generation:
            self.client.ack(message.mid, message.qos)

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            logger.error("MQTT broker refused the control client: %s", reason)
            if reason.value in _REFUSED_FOR_GOOD:
                self.refused = str(reason)
                logger.critical("control client refused for good (%s): not retrying", reason)
                client.disconnect()
            return
        self.generation += 1
        client.subscribe(self.subscription, qos=1)

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _mid: int,
        codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        if any(code.is_failure for code in codes):
            logger.error("broker refused the subscription %s: %s", self.subscription, codes)
            return
        logger.info("control client listening for replies on %s", self.subscription)
        self.subscribed.set()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self.subscribed.clear()
        if reason.is_failure:
            logger.warning("control client lost the broker (%s); reconnecting", reason)

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        try:
            item = Inbound(msg.topic, bytes(msg.payload), msg.mid, msg.qos, self.generation)
            self._inbox.put(item, timeout=ENQUEUE_TIMEOUT_S)
        except queue.Full:
            logger.error("control queue full: reply %d left for redelivery", msg.mid)
        except Exception:  # paho's thread must survive anything a message does
            logger.exception("could not hand over reply %d", msg.mid)
