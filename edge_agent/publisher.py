"""The publisher: drains the outbox to the broker in chunks and applies the server's signed acks.

A packet goes out as QoS 1 chunks (`protocol.chunks.split_packet`); it counts as published only
once every chunk got its PUBACK, and only then does its ack timeout start (`Outbox.mark_published`,
with the outbox's capped, jittered backoff). At most `max_in_flight` packets are out at a time.
A PUBACK proves nothing about the database: a packet leaves the outbox only on an application ack
that verifies against the server's key, and one without an ack is republished after its timeout.

A chunk the broker refuses (over its packet size limit, Mosquitto drops the connection) would
come back after every reconnect and block everything behind it: after `refused_after`
disconnects with the same chunk first unacknowledged, the packet is parked as a dead letter
(`chunk_too_large`, resendable once `chunk_size` is lowered), an alarm is raised, and the paho
client is replaced so that it stops re-sending it; the other packets in flight are released and
published again (the server dedupes).

Threads: `tw-publisher` (this module's loop: outbox, acks, publishing) and `tw-mqtt-network`
(paho's I/O and reconnection, `mqtt_client`). paho's thread only decodes and enqueues.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from edge_agent.mqtt_client import MqttLink, PublisherSettings
from edge_agent.outbox import AckOutcome, Outbox, OutboxItem
from edge_agent.publisher_state import (
    Counts,
    InFlight,
    PublisherCounters,
    RefusalWatch,
    chunk_too_large_alarm,
    minimal_heartbeat,
    oldest_unacked,
    puback,
)
from protocol.ack import Ack, open_ack
from protocol.chunks import split_packet
from protocol.enums import DeviceState
from protocol.errors import ProtocolError
from protocol.keys import Ed25519PublicKey
from protocol.status import StatusHeartbeat, encode_status, offline_status

__all__ = ["Publisher", "PublisherCounters", "PublisherSettings"]

logger = logging.getLogger(__name__)

_QUEUED = (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN)
_ONLINE_REFRESH_S = 30.0
CHUNK_TOO_LARGE = "chunk_too_large"


class Publisher:
    """Drains an outbox to MQTT; start() once, stop() once."""

    def __init__(
        self,
        settings: PublisherSettings,
        outbox: Outbox,
        server_public_key: Ed25519PublicKey,
        online_status: Callable[[], StatusHeartbeat] | None = None,
    ) -> None:
        self.settings = settings
        self._outbox = outbox
        self._server_key = server_public_key
        self._online_status = online_status
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._acks: queue.Queue[tuple[Ack, bytes]] = queue.Queue()
        self._in_flight: dict[uuid.UUID, InFlight] = {}
        self._seen_connections = 0
        self._counts = Counts()
        self._refusals = RefusalWatch(settings.refused_after)
        self._alarms: dict[str, str] = {}  # code -> message; raised on the publishing thread
        self._started = time.monotonic()
        self._last_heartbeat: StatusHeartbeat | None = None
        self._online_payload = b""
        self._online_at = 0.0
        self._link = MqttLink(
            settings,
            will_payload=offline_status(settings.device_id),
            on_message=self._on_message,
            on_connected=self._announce_online,
            stop=self._stop,
        )
        self._thread = threading.Thread(target=self._run, name="tw-publisher", daemon=True)

    def start(self) -> None:
        """Start the network thread, then the publishing loop."""
        self._refresh_online()
        self._link.start()
        self._thread.start()
        logger.info("publisher started for %s", self.settings.device_id)

    def stop(self, timeout: float | None = None) -> None:
        """Stop taking work, wait (bounded) for PUBACKs, publish offline, disconnect, join."""
        if self._stop.is_set():
            return
        timeout = self.settings.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        while self._link.connected and time.monotonic() < deadline and self._awaiting_puback():
            self._check_in_flight()
            time.sleep(0.05)
        self._check_in_flight()  # so a completed packet waits for its ack after a restart
        self._apply_acks()
        remaining = max(deadline - time.monotonic(), 1.0)
        self._link.close(offline_status(self.settings.device_id), remaining)
        logger.info("publisher stopped")

    def counters(self) -> PublisherCounters:
        """A snapshot of the counters, the connection state and the alarms."""
        c = self._counts
        alarms = dict(self._alarms)
        if self._link.auth_refused is not None:
            refusal = self._link.auth_refused
            alarms = {"auth_refused": f"Máy chủ MQTT từ chối đăng nhập / refused: {refusal}"}
            alarms.update(self._alarms)
        with c.lock:
            return PublisherCounters(
                connected=self._link.connected,
                connections=self._link.connections,
                connect_attempts=self._link.connect_attempts,
                published=c.published,
                republished=c.republished,
                acked=c.acked,
                rejected=c.rejected,
                forged_acks=c.forged_acks,
                in_flight=len(self._in_flight),
                alarms=tuple(alarms),
                parked=c.parked,
                alarm_messages=alarms,
            )

    def publish_status(self, heartbeat: StatusHeartbeat) -> bool:
        """Publish a retained heartbeat (QoS 1); False when offline (kept for the reconnect)."""
        payload = encode_status(heartbeat)
        self._last_heartbeat = heartbeat
        if heartbeat.state is not DeviceState.offline:
            self._online_payload = payload
        if not self._link.connected:
            return False  # queueing heartbeats in paho's memory through an outage helps nobody
        topic = self._link.topics.status(self.settings.device_id)
        info = self._link.client.publish(topic, payload, qos=1, retain=True)
        return info.rc in _QUEUED

    # --- paho's thread: decode and enqueue only ---

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            ack = open_ack(payload, self._server_key)
        except ProtocolError as exc:
            self._counts.add("forged_acks")
            logger.warning("ignored an ack on %s that does not verify: %s", topic, exc)
            return
        if ack.device_id != self.settings.device_id:
            self._counts.add("forged_acks")
            logger.warning("ignored an ack for device %s on our topic", ack.device_id)
            return
        self._acks.put((ack, payload))
        self._wake.set()

    def _announce_online(self, client: mqtt.Client) -> None:
        # Prepared on the publishing thread (_refresh_online): no outbox reads on paho's.
        if self._online_payload:
            topic = self._link.topics.status(self.settings.device_id)
            client.publish(topic, self._online_payload, qos=1, retain=True)

    # --- the publishing loop ---

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._apply_acks()
                self._check_in_flight()
                if self._link.connected:
                    self._publish_due()
                if time.monotonic() - self._online_at > _ONLINE_REFRESH_S:
                    self._refresh_online()
            except Exception:  # a bad moment (e.g. a full disk) must not end publishing
                logger.exception("publisher loop error; continuing")
            self._wake.wait(self.settings.poll_interval)
            self._wake.clear()

    def _apply_acks(self) -> None:
        while True:
            try:
                ack, raw = self._acks.get_nowait()
            except queue.Empty:
                return
            outcome = self._outbox.acked(
                ack.packet_id,
                ack.packet_sha256,
                ack.status,
                reason=None if ack.reason is None else ack.reason.value,
                ack_bytes=raw,
                detail=ack.detail or None,
            )
            if outcome in (AckOutcome.deleted, AckOutcome.dead_lettered):
                self._counts.add("acked")
                flight = self._in_flight.pop(ack.packet_id, None)
                if flight is not None and flight.infos is not None:
                    self._counts.add("published")  # the app ack overtook our PUBACK check
            if outcome is AckOutcome.dead_lettered:
                self._counts.add("rejected")

    def _forget_replaced_client(self) -> None:
        generation = self._link.generation
        for packet_id, f in list(self._in_flight.items()):
            if f.infos is not None and f.generation != generation:
                self._outbox.release(packet_id)  # the new paho client never saw it: publish again
                del self._in_flight[packet_id]

    def _watch_refusals(self) -> None:
        flights = self._in_flight
        suspect = self._refusals.observe(self._link.disconnects, lambda: oldest_unacked(flights))
        if suspect is not None:
            self._park(*suspect)

    def _park(self, flight: InFlight, index: int) -> None:
        packet_id, size = flight.packet_id, flight.sizes[index]
        self._in_flight.pop(packet_id, None)
        self._link.renew_session()  # else paho re-sends the refused chunk on every reconnect
        detail = (
            f"mảnh {size} byte bị máy chủ MQTT từ chối / {size}-byte chunk refused by the broker"
        )
        if not self._outbox.park(packet_id, CHUNK_TOO_LARGE, detail):
            return  # acked or dropped meanwhile: nothing is set aside
        self._counts.add("parked")
        self._alarms[CHUNK_TOO_LARGE] = chunk_too_large_alarm(
            packet_id, size, self.settings.refused_after
        )
        logger.error(
            "parked packet %s: its %d-byte chunk is refused by the broker", packet_id, size
        )

    def _awaiting_puback(self) -> bool:
        return any(f.infos is not None for f in list(self._in_flight.values()))

    def _check_in_flight(self) -> None:
        self._forget_replaced_client()
        self._watch_refusals()
        now, mono = time.time(), time.monotonic()
        if self._link.connections != self._seen_connections:
            self._seen_connections = self._link.connections
            for f in self._in_flight.values():
                f.sent_at = mono
        for packet_id, f in list(self._in_flight.items()):
            if f.infos is None:
                if now >= f.deadline:  # no ack in time: the outbox hands it out again
                    del self._in_flight[packet_id]
            elif all(puback(i) for i in f.infos):
                at = self._outbox.mark_published(packet_id, now)
                self._counts.add("published")
                if at is None:
                    del self._in_flight[packet_id]
                else:
                    f.infos, f.deadline = None, at
            elif self._link.connected and mono - f.sent_at > self.settings.puback_timeout:
                logger.warning("no PUBACK for all chunks of %s; will publish again", packet_id)
                self._outbox.release(packet_id)
                del self._in_flight[packet_id]

    def _publish_due(self) -> None:
        slots = self.settings.max_in_flight - len(self._in_flight)
        if slots <= 0:
            return
        for item in self._outbox.due(slots):
            try:
                flight = self._send(item)
            except Exception:
                self._outbox.release(item.packet_id)  # never strand a handed-out packet
                raise
            if flight is None:
                self._outbox.release(item.packet_id)
                continue
            if item.attempts:
                self._counts.add("republished")
            self._in_flight[item.packet_id] = flight

    def _send(self, item: OutboxItem) -> InFlight | None:
        topic = self._link.topics.evidence(self.settings.device_id)
        chunks = split_packet(item.packet_id, item.data, self.settings.chunk_size)
        # Generation first: if the client is replaced in between, the packet is released.
        generation, client = self._link.generation, self._link.client
        infos = [client.publish(topic, c, qos=1) for c in chunks]
        for info in infos:
            if info.rc != MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                # Anything but a full queue (NO_CONN, CONN_LOST when the broker drops us
                # mid-write): paho keeps the message and re-sends it after the reconnect, so we
                # track it, but is_published() would raise on this rc for ever.
                info.rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        if all(i.rc == MQTTErrorCode.MQTT_ERR_SUCCESS for i in infos):
            sizes = tuple(len(c) for c in chunks)
            return InFlight(
                item.packet_id, infos, time.monotonic(), generation=generation, sizes=sizes
            )
        logger.warning("paho's queue refused chunks of %s", item.packet_id)
        return None

    def _refresh_online(self) -> None:
        self._online_at = time.monotonic()
        try:
            self._online_payload = encode_status(self._online_heartbeat())
        except Exception:  # a status we cannot build must not stop the evidence
            logger.exception("cannot build the online status")

    def _online_heartbeat(self) -> StatusHeartbeat:
        if self._online_status is not None:
            return self._online_status()
        now = datetime.now(timezone.utc)
        if self._last_heartbeat is not None and self._last_heartbeat.state is not (
            DeviceState.offline
        ):
            return self._last_heartbeat.model_copy(update={"sent_at": now})
        in_flight = len(self._in_flight)
        return minimal_heartbeat(self.settings.device_id, self._outbox, in_flight, self._started)
