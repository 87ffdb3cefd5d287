"""The MQTT side of remote control: paho's thread drops config and cmd messages here, and
replies leave through whichever publisher link is up (the link is replaced at every restart).

`deliver` and `link_up` run on paho's network thread: they only enqueue and record.
"""

from __future__ import annotations

import logging
import queue

from edge_agent.mqtt_client import MqttLink
from protocol.topics import TopicKind

logger = logging.getLogger(__name__)

INBOX_SIZE = 64
PUBACK_TIMEOUT_S = 10.0


class RemoteInbox:
    """Messages in, replies out (implements `edge_agent.mqtt_client.RemoteRoute`)."""

    def __init__(self, device_id: str, maxsize: int = INBOX_SIZE) -> None:
        self.device_id = device_id
        self.messages: queue.Queue[tuple[TopicKind, bytes]] = queue.Queue(maxsize)
        self._link: MqttLink | None = None

    def deliver(self, kind: TopicKind, payload: bytes) -> None:
        """Queue a config or command for the remote worker (never blocks paho's thread)."""
        try:
            self.messages.put_nowait((kind, payload))
        except queue.Full:
            # The retained config comes again at the next connection; a lost command times out
            # on the server, which shows it unanswered.
            logger.error("remote inbox full: dropped a %s message", kind.value)

    def link_up(self, link: MqttLink) -> None:
        """Remember the connected link: spooled replies can go now."""
        self._link = link

    @property
    def connected(self) -> bool:
        """Whether a link is up to publish through."""
        link = self._link
        return link is not None and link.connected

    def publish_reply(self, data: bytes, timeout: float = PUBACK_TIMEOUT_S) -> bool:
        """Publish one sealed reply (QoS 1) and wait for the PUBACK; False if it did not go."""
        link = self._link
        if link is None or not link.connected:
            return False
        topic = link.topics.reply(self.device_id)
        try:
            info = link.client.publish(topic, data, qos=1)
            info.wait_for_publish(timeout)
            return info.is_published()
        except (ValueError, RuntimeError) as exc:  # paho: queue full, or not connected
            logger.warning("reply not published: %s", exc)
            return False
