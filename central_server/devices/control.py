"""Device control: publishes signed configs (retained) and commands, and records the boxes'
signed replies (the paho client is `control_client`).

The staff API only stores a push or a command as `pending`; the worker thread `device-control`
publishes what is pending (QoS 1, waiting for the PUBACK before marking it published), so the API
never waits for the broker and nothing is lost while the broker is away. paho's `on_message`
only enqueues; the worker verifies each reply against the device's registered key, stores it in
one transaction and only then PUBACKs it (manual acks, persistent session: a crash before the
commit means the broker delivers the reply again). On every new connection the newest push of
each box is published again, retained: a broker restarted without persistence forgets retained
messages, and a box must find its config when it reconnects.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from central_server import db
from central_server.devices import commands, remote_config
from central_server.devices.control_client import (
    PUBACK_TIMEOUT_S,
    ControlClient,
    Inbound,
    default_client_id,
)
from central_server.devices.models_remote import (
    CommandState,
    DeviceCommand,
    DeviceConfigPush,
    PushState,
)
from central_server.evidence_store import EvidenceStore, FilesystemEvidenceStore
from central_server.models import DeviceKey, utcnow
from central_server.settings import Settings
from protocol.commands import open_reply
from protocol.enums import CommandName
from protocol.errors import ProtocolError
from protocol.keys import public_key_from_raw
from protocol.sealed import peek
from protocol.topics import TopicKind, Topics

logger = logging.getLogger(__name__)

POLL_S = 1.0  # how soon a push or command stored by the API goes out
EXPIRE_EVERY_S = 30.0


def handle_reply(session: Session, store: EvidenceStore, topics: Topics, item: Inbound) -> None:
    """Verify one reply against the device's registered key and record it; bad ones are logged."""
    try:
        device_id, kind = topics.parse(item.topic)
        key_id = peek(item.payload).key_id
    except ProtocolError as exc:
        logger.warning("ignored a message on %s: %s", item.topic, exc)
        return
    key: DeviceKey | None = session.exec(
        select(DeviceKey).where(
            col(DeviceKey.key_id) == key_id, col(DeviceKey.device_id) == device_id
        )
    ).first()
    if kind is not TopicKind.reply or key is None or key.revoked_at is not None:
        logger.warning("ignored a reply on %s: key %s is not a live key of it", item.topic, key_id)
        return
    try:
        reply = open_reply(item.payload, public_key_from_raw(key.public_key))
    except ProtocolError as exc:
        logger.warning("ignored a reply on %s that does not verify: %s", item.topic, exc)
        return
    if reply.device_id != device_id:
        logger.warning("ignored a reply for %s on the topic of %s", reply.device_id, device_id)
        return
    now = utcnow()
    if reply.name is CommandName.config:
        remote_config.record_report(session, device_id, reply, now)
    else:
        commands.record_reply(session, store, device_id, reply, item.payload, now)


class ControlService:
    """The control client and its worker thread; `start()` once, `stop()` once."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        store: EvidenceStore | None = None,
        *,
        client_id: str | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)
        self.poll_s = poll_s
        self._engine = engine
        self._owns_engine = engine is None
        self._store = store
        self._inbox: queue.Queue[Inbound] = queue.Queue(maxsize=256)
        self.client = ControlClient(
            settings, self._inbox, client_id or settings.control_client_id or default_client_id()
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="device-control", daemon=True)
        self._asserted = 0  # the connection generation whose retained configs were re-published
        self._expired_at = 0.0

    def start(self) -> None:
        """Connect and start the worker."""
        if self._engine is None:
            self._engine = db.make_engine(self.settings.database_url)
        if self._store is None:
            self._store = FilesystemEvidenceStore(self.settings.evidence_dir)
        self.client.start()
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the reply subscription is in place."""
        return self.client.subscribed.wait(timeout)

    def stop(self) -> None:
        """Stop the worker (what it holds stays un-PUBACKed), then the client."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(PUBACK_TIMEOUT_S + 5)
        self.client.stop()
        if self._owns_engine and self._engine is not None:
            self._engine.dispose()
        logger.info("device control stopped")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._take_replies()
                if self.client.connected:
                    self._reassert_configs()
                    self._publish_pending()
                if time.monotonic() - self._expired_at > EXPIRE_EVERY_S:
                    self._expired_at = time.monotonic()
                    with self._session() as session:
                        commands.expire_overdue(session, utcnow())
            except Exception:  # the database may be away: keep trying, loudly
                logger.exception("device control loop error; continuing")
                self._stop.wait(self.poll_s)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        assert self._engine is not None
        with db.session_scope(self._engine) as session:
            yield session

    def _take_replies(self) -> None:
        try:
            item = self._inbox.get(timeout=self.poll_s)
        except queue.Empty:
            return
        while True:
            assert self._store is not None
            with self._session() as session:
                handle_reply(session, self._store, self.topics, item)
            self.client.ack(item)  # after the commit
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return

    def _reassert_configs(self) -> None:
        generation = self.client.generation
        if generation == self._asserted:
            return
        with self._session() as session:
            latest = [(p.device_id, p.sealed) for p in remote_config.latest_pushes(session)]
        for device_id, sealed in latest:
            if not self.client.publish(self.topics.config(device_id), sealed, retain=True):
                return
        self._asserted = generation
        if latest:
            logger.info("re-published the retained config of %d devices", len(latest))

    def _publish_pending(self) -> None:
        now = utcnow()
        with self._session() as session:
            pushes = [(p.id, p.device_id, p.sealed) for p in remote_config.pending_pushes(session)]
            cmds = [(c.id, c.device_id, c.sealed) for c in commands.pending_commands(session, now)]
        for push_id, device_id, sealed in pushes:
            if not self.client.publish(self.topics.config(device_id), sealed, retain=True):
                return
            with self._session() as session:
                push = session.get(DeviceConfigPush, push_id)
                if push is not None and push.state is PushState.pending:
                    remote_config.set_state(
                        session, push, PushState.published, actor=commands.CONTROL_ACTOR, now=now
                    )
        for command_id, device_id, sealed in cmds:
            if not self.client.publish(self.topics.cmd(device_id), sealed, retain=False):
                return
            with self._session() as session:
                row = session.get(DeviceCommand, command_id)
                if row is not None and row.state is CommandState.pending:
                    commands.set_state(
                        session, row, CommandState.sent, actor=commands.CONTROL_ACTOR, now=now
                    )


@contextmanager
def control_running(settings: Settings) -> Iterator[ControlService | None]:
    """The control service around a block (none when `control_enabled` is off)."""
    if not settings.control_enabled:
        yield None
        return
    service = ControlService(settings)
    service.start()
    try:
        yield service
    finally:
        service.stop()
