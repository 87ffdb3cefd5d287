"""MQTT topic names: `{prefix}/{device_id}/{kind}`, built and parsed strictly.

Builders refuse wildcards and malformed ids so a box can never publish to, or an ACL grant cover,
a topic other than its own; the parser is how the server learns which device a message came from.
"""

from __future__ import annotations

import re
from enum import Enum

from protocol.errors import TopicError
from protocol.fields import DEVICE_ID_PATTERN

__all__ = ["DEFAULT_PREFIX", "TopicKind", "Topics", "validate_device_id", "validate_prefix"]

DEFAULT_PREFIX = "tw/v1"
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)
# Prefix levels and share groups: no wildcards, no `$` (broker-reserved), no spaces or NULs.
_LEVEL = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class TopicKind(str, Enum):
    """The last topic level: what a message is."""

    evidence = "evidence"
    ack = "ack"
    status = "status"
    config = "config"
    cmd = "cmd"
    reply = "reply"


def validate_device_id(value: str) -> str:
    """Return `value` if it is a valid device id, else raise `TopicError`."""
    if not isinstance(value, str) or not _DEVICE_ID.fullmatch(value):
        raise TopicError(
            f"mã thiết bị không hợp lệ (invalid device id {value!r}; "
            "2-63 of a-z 0-9 _ -, starting with a letter or digit)"
        )
    return value


def validate_prefix(prefix: str) -> str:
    """Return `prefix` if every level is non-empty and free of wildcards, else raise."""
    levels = prefix.split("/")
    if not all(_LEVEL.fullmatch(level) for level in levels):
        raise TopicError(f"invalid topic prefix {prefix!r}: empty level, wildcard or bad character")
    return prefix


class Topics:
    """Topic names under one prefix (default `tw/v1`)."""

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = validate_prefix(prefix)

    def topic(self, kind: TopicKind, device_id: str) -> str:
        """The topic of `kind` for one device."""
        return f"{self.prefix}/{validate_device_id(device_id)}/{TopicKind(kind).value}"

    def evidence(self, device_id: str) -> str:
        """Device → server evidence chunks (QoS 1)."""
        return self.topic(TopicKind.evidence, device_id)

    def ack(self, device_id: str) -> str:
        """Server → device signed acks (QoS 1)."""
        return self.topic(TopicKind.ack, device_id)

    def status(self, device_id: str) -> str:
        """Device heartbeat, retained; the last will says offline."""
        return self.topic(TopicKind.status, device_id)

    def config(self, device_id: str) -> str:
        """Server-signed desired config, retained."""
        return self.topic(TopicKind.config, device_id)

    def cmd(self, device_id: str) -> str:
        """Server → device commands."""
        return self.topic(TopicKind.cmd, device_id)

    def reply(self, device_id: str) -> str:
        """Device → server command replies."""
        return self.topic(TopicKind.reply, device_id)

    def subscription(self, kind: TopicKind, shared_group: str | None = None) -> str:
        """Filter for `kind` from every device; with a group, a `$share/...` subscription."""
        pattern = f"{self.prefix}/+/{TopicKind(kind).value}"
        if shared_group is None:
            return pattern
        if not _LEVEL.fullmatch(shared_group):
            raise TopicError(f"invalid shared-subscription group {shared_group!r}")
        return f"$share/{shared_group}/{pattern}"

    def parse(self, topic: str) -> tuple[str, TopicKind]:
        """Split a concrete topic into (device id, kind); refuse anything else."""
        if "+" in topic or "#" in topic:
            raise TopicError(f"topic {topic!r} contains a wildcard")
        head = self.prefix + "/"
        if not topic.startswith(head):
            raise TopicError(f"topic {topic!r} is not under {self.prefix!r}")
        levels = topic[len(head) :].split("/")
        if len(levels) != 2:
            raise TopicError(f"topic {topic!r} is not {self.prefix}/<device_id>/<kind>")
        device_id, kind = levels
        try:
            parsed = TopicKind(kind)
        except ValueError as exc:
            raise TopicError(f"unknown topic kind {kind!r} in {topic!r}") from exc
        return validate_device_id(device_id), parsed
