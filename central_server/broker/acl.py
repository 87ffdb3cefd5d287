"""The ACL model: which broker user may read or write which topics (broker-neutral).

- a box (user name = its device id) writes only its own `evidence`, `status` and `reply`, and
  reads only its own `ack`, `config` and `cmd`;
- `ingest` reads every box's `evidence` and `status` (also through `$share/<group>/...`) and
  writes `ack`;
- `control` writes every box's `config` and `cmd` and reads `reply`;
- nobody else gets anything, and anonymous clients are refused by the broker configuration.

Every grant names a concrete device or a single-level `+` at the device position, never `#`.
`Mosquitto` and `EMQX` writers render the same `AclPlan`; `allows()` evaluates it, so tests can
compare what the plan says with what a real broker does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from protocol.topics import TopicKind, Topics, validate_device_id

INGEST_USER = "ingest"
CONTROL_USER = "control"
SERVICE_USERS = frozenset({INGEST_USER, CONTROL_USER})


class Access(str, Enum):
    """What a grant allows on a topic filter."""

    read = "read"  # subscribe and receive
    write = "write"  # publish (including the last will and retained messages)


class UserRole(str, Enum):
    """Who a broker user is."""

    device = "device"
    ingest = "ingest"
    control = "control"


@dataclass(frozen=True)
class Grant:
    """Permission to read or write topics matching `topic` (an MQTT topic filter)."""

    access: Access
    topic: str


@dataclass(frozen=True)
class BrokerUser:
    """A broker login and what it is; the password only as its hash (Mosquitto `$7$` form)."""

    username: str
    role: UserRole
    password_hash: str


DEVICE_WRITES = (TopicKind.evidence, TopicKind.status, TopicKind.reply)
DEVICE_READS = (TopicKind.ack, TopicKind.config, TopicKind.cmd)


def grants_for(user: BrokerUser, topics: Topics) -> list[Grant]:
    """The grants of one user under `topics`' prefix."""
    if user.role is UserRole.device:
        device_id = validate_device_id(user.username)
        return [Grant(Access.write, topics.topic(k, device_id)) for k in DEVICE_WRITES] + [
            Grant(Access.read, topics.topic(k, device_id)) for k in DEVICE_READS
        ]
    if user.role is UserRole.ingest:
        return [
            Grant(Access.read, topics.subscription(TopicKind.evidence)),
            Grant(Access.read, topics.subscription(TopicKind.status)),
            Grant(Access.write, topics.subscription(TopicKind.ack)),
        ]
    return [
        Grant(Access.write, topics.subscription(TopicKind.config)),
        Grant(Access.write, topics.subscription(TopicKind.cmd)),
        Grant(Access.read, topics.subscription(TopicKind.reply)),
    ]


class AclError(ValueError):
    """Users that cannot be put in one ACL (the message says which and why)."""


@dataclass(frozen=True)
class AclPlan:
    """Every user and their grants, ordered: service users first, then boxes by id."""

    topics: Topics
    users: tuple[BrokerUser, ...]
    shared_group: str | None = None

    def grants(self, user: BrokerUser) -> list[Grant]:
        """The grants of `user`."""
        return grants_for(user, self.topics)

    def allows(self, username: str | None, access: Access, topic: str) -> bool:
        """Whether the plan lets `username` read or write `topic` (anonymous: never)."""
        user = next((u for u in self.users if u.username == username), None)
        if user is None:
            return False
        concrete = strip_share(topic)
        return any(
            g.access is access and filter_covers(g.topic, concrete) for g in self.grants(user)
        )


def make_plan(users: list[BrokerUser], topics: Topics, shared_group: str | None) -> AclPlan:
    """Check the users fit together (unique names, no box named like a service) and order them."""
    seen: set[str] = set()
    for user in users:
        if user.username in seen:
            raise AclError(f"người dùng trùng / duplicate broker user {user.username!r}")
        seen.add(user.username)
        if user.role is UserRole.device and user.username in SERVICE_USERS:
            raise AclError(
                f"mã thiết bị {user.username!r} trùng tên dịch vụ / a device may not be named "
                f"like a service user ({', '.join(sorted(SERVICE_USERS))})"
            )
    order = {UserRole.ingest: 0, UserRole.control: 1, UserRole.device: 2}
    ordered = sorted(users, key=lambda u: (order[u.role], u.username))
    return AclPlan(topics=topics, users=tuple(ordered), shared_group=shared_group)


def strip_share(topic: str) -> str:
    """The topic filter of a `$share/<group>/<filter>` subscription (brokers authorise that)."""
    if topic.startswith("$share/"):
        parts = topic.split("/", 2)
        return parts[2] if len(parts) == 3 else ""
    return topic


def filter_covers(grant: str, topic: str) -> bool:
    """Whether grant filter `grant` covers `topic` (a topic name, or a filter asked for)."""
    granted, wanted = grant.split("/"), topic.split("/")
    for index, level in enumerate(granted):
        if level == "#":
            return True
        if index >= len(wanted):
            return False
        if level != "+" and level != wanted[index]:
            return False
        if level == "+" and wanted[index] == "#":
            return False
    return len(granted) == len(wanted)
