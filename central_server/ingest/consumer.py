"""The paho side of the ingest: subscribe, hand messages to the workers, publish acks, PUBACK.

Two subscriptions: evidence, and the boxes' status (retained heartbeats and last wills), which
the workers hand to fleet health (`central_server.devices.health`).

Manual acks: paho's automatic PUBACK would tell the broker a chunk is safe the moment it reached
this process's memory. Here the PUBACK goes out only after a worker staged the chunk or committed
its packet, so a crash before that makes the broker redeliver it (the session is persistent:
fixed client id, clean_session=False). `on_message` only enqueues; it never touches the database
and never raises.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from central_server.ingest.schemas import InboundMessage
from central_server.models import utcnow
from central_server.settings import Settings
from protocol.topics import TopicKind, Topics

logger = logging.getLogger(__name__)

KEEPALIVE_S = 30
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30
# How long paho's network thread may wait for room in a full queue before leaving the message
# un-PUBACKed (the broker redelivers it on the next connection).
ENQUEUE_TIMEOUT_S = 5.0
# CONNACK codes (MQTT 3.1.1 and their MQTT 5 equivalents) that retrying cannot fix.
_REFUSED_FOR_GOOD = {4, 5, 0x86, 0x87, 0x8C}


class EvidenceConsumer:
    """One MQTT client: a persistent session that feeds `inbox` and answers devices."""

    def __init__(
        self,
        settings: Settings,
        inbox: queue.Queue[InboundMessage],
        *,
        client_id: str,
        on_fatal: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)
        self.subscription = self.topics.subscription(
            TopicKind.evidence, settings.ingest_shared_group
        )
        self.status_subscription = self.topics.subscription(
            TopicKind.status, settings.ingest_shared_group
        )
        self.client_id = client_id
        self.subscribed = threading.Event()
        self._inbox = inbox
        self._on_fatal = on_fatal
        self._accepting = threading.Event()
        self._accepting.set()
        # Bumped on every CONNACK: a message's mid is only meaningful on the connection it came
        # in on, so a PUBACK for an older connection is skipped (the broker redelivers it).
        self._generation = 0
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        client.manual_ack_set(True)
        settings = self.settings
        if settings.mqtt_username:
            password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
            client.username_pw_set(settings.mqtt_username, password)
        if settings.mqtt_tls:
            ca_file = str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None
            client.tls_set(ca_certs=ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        """Connect in the background (paho retries until the broker answers)."""
        logger.info(
            "connecting to MQTT broker %s:%d as %s (tls %s), subscribing to %s",
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            self.client_id,
            self.settings.mqtt_tls,
            self.subscription,
        )
        self.client.connect_async(
            self.settings.mqtt_host, self.settings.mqtt_port, keepalive=KEEPALIVE_S
        )
        self.client.loop_start()

    def pause(self) -> None:
        """Stop handing messages to the workers; what arrives now stays un-PUBACKed."""
        self._accepting.clear()

    def stop(self) -> None:
        """Disconnect (the broker keeps the session and what is un-PUBACKed) and stop paho."""
        self._accepting.clear()
        self.client.disconnect()
        self.client.loop_stop()

    def publish_ack(self, device_id: str, ack: bytes) -> None:
        """Publish a signed ack to the device, QoS 1 (paho resends it after a reconnect)."""
        info = self.client.publish(self.topics.ack(device_id), ack, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            # Queued by paho for the next connection; the box also re-sends what lacks an ack.
            logger.warning("ack for %s queued while disconnected (rc %s)", device_id, info.rc)

    def puback(self, message: InboundMessage) -> bool:
        """Acknowledge a message to the broker now that it is durable; False if it can't be."""
        if message.generation != self._generation:
            logger.info("not acking mid %d from an earlier connection", message.mid)
            return False
        return bool(self.client.ack(message.mid, message.qos) == mqtt.MQTT_ERR_SUCCESS)

    # ---------------------------------------------------------------- paho callbacks

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            logger.error("MQTT broker refused the connection: %s", reason_code)
            if reason_code.value in _REFUSED_FOR_GOOD:
                self._on_fatal(f"MQTT broker refused the ingest: {reason_code}")
            return
        self._generation += 1
        logger.info(
            "connected to %s:%d (session present: %s)",
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            flags.session_present,
        )
        # Here, not once at start: after a reconnect without a session the broker forgot it.
        client.subscribe([(self.subscription, 1), (self.status_subscription, 1)])

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _mid: int,
        reason_codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        if any(code.is_failure for code in reason_codes):
            wanted = f"{self.subscription}, {self.status_subscription}"
            logger.error("broker refused the subscriptions %s: %s", wanted, reason_codes)
            self._on_fatal(f"MQTT broker refused the subscriptions {wanted}")
            return
        logger.info("subscribed to %s and %s", self.subscription, self.status_subscription)
        self.subscribed.set()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self.subscribed.clear()
        if reason_code.is_failure:
            logger.warning("lost the MQTT broker (%s); reconnecting", reason_code)

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        try:
            if not self._accepting.is_set():
                return  # stopping: the broker redelivers it to the next session
            item = InboundMessage(
                topic=_topic_text(msg),
                payload=bytes(msg.payload),
                mid=msg.mid,
                qos=msg.qos,
                generation=self._generation,
                received_at=utcnow(),
                retained=bool(msg.retain),
            )
            self._inbox.put(item, timeout=ENQUEUE_TIMEOUT_S)
        except queue.Full:
            logger.error("ingest queue full: message %d left for redelivery", msg.mid)
        except Exception:  # paho's thread must survive anything a message does
            logger.exception("could not hand over message %d", msg.mid)


def _topic_text(msg: mqtt.MQTTMessage) -> str:
    try:
        return msg.topic
    except UnicodeDecodeError:  # quarantined as a bad topic rather than lost silently
        return repr(msg._topic)
