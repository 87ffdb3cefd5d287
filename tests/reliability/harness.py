"""The fault suite's rig: a database, a broker, the server key, ingests and boxes, torn down as one.

Set-up follows `trafficwatch demo` (broker → migrated database → server key → enrolled devices →
`IngestService` → outbox + publisher), with every piece reachable by the test so that it can be
killed, cut off or tampered with. `check()` applies the oracle's invariant (`oracle.py`).
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from central_server.db import session_scope
from central_server.devices.service import enrol_device
from central_server.evidence_store import FilesystemEvidenceStore
from central_server.ingest.runner import IngestService
from central_server.models import Packet, Quarantine, Violation
from central_server.server_keys import load_or_create_server_key
from central_server.settings import Settings
from protocol.ack import Ack, open_ack
from protocol.keys import Ed25519PrivateKey, generate_private_key
from protocol.topics import Topics
from tests.fixtures.brokers import BrokerEndpoint, MqttTestClient
from tests.fixtures.db import Database
from tests.reliability.box import Box, BoxConfig
from tests.reliability.box_proc import BoxProcess
from tests.reliability.ingest_proc import IngestProcess, ingest_env
from tests.reliability.oracle import BoxPaths, Verdict, check_invariant

logger = logging.getLogger(__name__)

WAIT_S = 60.0  # a bound for things that must happen, never a measurement
CHUNK = 4096  # small chunks: most packets travel as several


def wait_until(condition: Callable[[], bool], timeout: float = WAIT_S, what: str = "") -> None:
    """Poll `condition` until it holds; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


class Rig:
    """One test's system: server side on `database`, boxes and ingests on `endpoint`."""

    def __init__(self, root: Path, database: Database, endpoint: BrokerEndpoint) -> None:
        self.root = root
        self.database = database
        self.endpoint = endpoint
        self.server_dir = root / "server"
        self.server_key = load_or_create_server_key(self.server_dir / "keys" / "server.pem")
        self.store = FilesystemEvidenceStore(self.server_dir / "evidence")
        self._stack = contextlib.ExitStack()
        self._tag = uuid.uuid4().hex[:6]

    def device(self, name: str) -> str:
        """A device id unique to this test run."""
        # A box's MQTT session is persistent under its device id: a fixed name would inherit
        # whatever acks the broker still queues from an earlier run.
        return f"{name}-{self._tag}"

    def close(self) -> None:
        """Stop every box and ingest this rig started, newest first."""
        self._stack.close()

    # ---------------------------------------------------------------- server side

    def settings(self, **overrides: Any) -> Settings:
        """Server settings on this rig's database, broker, key and evidence store."""
        fields: dict[str, Any] = {
            "data_dir": self.server_dir,
            "database_url": self.database.url,
            "server_key_path": self.server_dir / "keys" / "server.pem",
            "evidence_dir": self.server_dir / "evidence",
            "mqtt_host": self.endpoint.host,
            "mqtt_port": self.endpoint.port,
            "topic_prefix": self.endpoint.topic_prefix,
            "ingest_workers": 2,
            **overrides,
        }
        return Settings(_env_file=None, **fields)

    def ingest(self, client_id: str = "ingest", **overrides: Any) -> IngestService:
        """Start an in-process ingest and wait for its subscription."""
        service = IngestService(
            self.settings(**overrides), client_id=self.endpoint.client_id(client_id)
        )
        service.start()
        self._stack.callback(service.stop)
        if not service.wait_ready(WAIT_S):
            raise AssertionError("the ingest did not subscribe")
        return service

    def ingest_process(self, client_id: str = "ingest-proc", **overrides: Any) -> IngestProcess:
        """An ingest run in child processes (killed at teardown)."""
        settings = self.settings(**overrides)
        env = ingest_env(
            {
                name: getattr(settings, name)
                for name in (
                    "data_dir",
                    "database_url",
                    "server_key_path",
                    "evidence_dir",
                    "mqtt_host",
                    "mqtt_port",
                    "topic_prefix",
                    "ingest_workers",
                    "ingest_shared_group",
                )
            }
        )
        process = IngestProcess(env, self.endpoint.client_id(client_id), self.root / client_id)
        self._stack.callback(process.kill)
        return process

    def enrol(self, device_id: str, key: Ed25519PrivateKey | None = None) -> Ed25519PrivateKey:
        """Enrol a device with a new key (or `key`); returns the private key."""
        key = key or generate_private_key()
        with self.database.session() as session:
            enrol_device(
                session, device_id=device_id, public_key=key.public_key(), actor="test:reliability"
            )
        return key

    # ---------------------------------------------------------------- boxes

    def box_config(self, device_id: str, **overrides: Any) -> BoxConfig:
        """A box's settings on this rig's broker (override host/port to go through a proxy)."""
        fields: dict[str, Any] = {
            "device_id": device_id,
            "host": self.endpoint.host,
            "port": self.endpoint.port,
            "prefix": self.endpoint.topic_prefix,
            **overrides,
        }
        return BoxConfig(**fields)

    def box(
        self,
        device_id: str,
        key: Ed25519PrivateKey,
        outbox_path: Path | None = None,
        **overrides: Any,
    ) -> Box:
        """Start an in-process box (stopped at teardown)."""
        box = Box(
            self.root / device_id,
            self.box_config(device_id, **overrides),
            key,
            self.server_key.public_key(),
            outbox_path,
        )
        box.start()
        self._stack.callback(box.stop)
        return box

    def box_process(self, device_id: str, key: Ed25519PrivateKey, **overrides: Any) -> BoxProcess:
        """A box run in child processes (killed at teardown)."""
        process = BoxProcess(
            self.root / device_id,
            self.box_config(device_id, **overrides),
            key,
            self.server_key.public_key(),
        )
        self._stack.callback(process.kill)
        return process

    # ---------------------------------------------------------------- what the server holds

    def count(self, model: type[Packet] | type[Violation] | type[Quarantine], *where: Any) -> int:
        """Rows of `model` matching `where`."""
        # Read-only: on SQLite a write transaction would queue behind whatever the test holds.
        with session_scope(self.database.engine, read_only=True) as session:
            statement = select(func.count()).select_from(model).where(*where)
            return int(session.exec(statement).one())

    def stored(self, device_id: str) -> int:
        """Packets stored for a device."""
        return self.count(Packet, col(Packet.device_id) == device_id)

    def is_stored(self, packet_id: str) -> bool:
        """Whether a packet is stored."""
        return self.count(Packet, col(Packet.packet_id) == uuid.UUID(packet_id)) == 1

    def check(self, *boxes: BoxPaths) -> Verdict:
        """Apply the invariant to stopped boxes; fail the test on any problem."""
        verdict = check_invariant(self.database.engine, self.store, boxes)
        logger.info("invariant: %s", verdict.summary())
        assert not verdict.problems, "\n".join(verdict.problems)
        return verdict


class Sender:
    """A bare MQTT client that publishes crafted chunks and reads the acks that come back."""

    def __init__(self, rig: Rig, *ack_devices: str) -> None:
        self.rig = rig
        self.topics = Topics(rig.endpoint.topic_prefix)
        endpoint = rig.endpoint
        self.mqtt = MqttTestClient(endpoint.host, endpoint.port, endpoint.client_id("sender"))
        assert not self.mqtt.connect().is_failure
        for device in ack_devices:
            self.mqtt.subscribe(self.topics.ack(device))

    def send(self, device: str, chunks: list[bytes]) -> None:
        """Publish chunks on `device`'s evidence topic, each PUBACKed."""
        for chunk in chunks:
            self.mqtt.publish(self.topics.evidence(device), chunk).wait_for_publish(WAIT_S)

    def ack(self) -> tuple[str, Ack]:
        """The next ack, verified against the server key, and the topic it came on."""
        message = self.mqtt.next_message(WAIT_S)
        return message.topic, open_ack(message.payload, self.rig.server_key.public_key())
