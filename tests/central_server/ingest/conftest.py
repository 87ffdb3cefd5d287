"""Fixtures for the ingest tests: an `Ingestor` on the `db` database with an enrolled device."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, col, select

from central_server.evidence_store import FilesystemEvidenceStore
from central_server.ingest import IngestLimits, Ingestor, Outcome, ingest_once
from central_server.models import AuditEvent
from central_server.server_keys import register_server_key
from protocol.chunks import split_packet
from protocol.envelope import decode_packet
from protocol.errors import ProtocolError
from protocol.evidence import EvidenceHeader
from protocol.ids import new_packet_id
from protocol.keys import Ed25519PrivateKey, generate_private_key
from protocol.topics import Topics
from tests.factories import DEVICE_ID, FIXED_TIME, fixed_device_key, make_packet
from tests.factories_db import make_device, make_device_key, make_site
from tests.fixtures.db import Database

SITE_ID = "dong-hoi-01"  # the site tests.factories' headers name
RECEIVED_AT = FIXED_TIME + timedelta(seconds=10)  # packets arrive seconds after the violation
LIMITS = IngestLimits(
    max_clock_skew_s=300,
    chunk_stage_ttl_s=600,
    chunk_stage_max_bytes_per_device=64 * 1024 * 1024,
    sequence_gap_report_after_s=3600,
)


@dataclass
class IngestEnv:
    """A database with device `DEVICE_ID` enrolled (test key) and an ingestor on it."""

    db: Database
    store: FilesystemEvidenceStore
    server_key: Ed25519PrivateKey
    ingestor: Ingestor
    topics: Topics = field(default_factory=Topics)
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(100))

    def packet(self, **overrides: Any) -> tuple[EvidenceHeader, bytes]:
        """A signed packet with a fresh id and sequence number unless overridden."""
        overrides.setdefault("packet_id", new_packet_id())
        overrides.setdefault("seq", next(self._seq))
        return make_packet(**overrides)

    def send(
        self,
        data: bytes,
        *,
        packet_id: uuid.UUID | None = None,
        device_id: str = DEVICE_ID,
        chunk_size: int = 1 << 20,
        received_at: datetime = RECEIVED_AT,
        ingestor: Ingestor | None = None,
    ) -> list[Outcome]:
        """Send a packet as its chunks, in order, on `device_id`'s evidence topic."""
        chunks = split_packet(packet_id or _packet_id(data), data, chunk_size)
        return [self.send_chunk(c, device_id, received_at, ingestor) for c in chunks]

    def send_chunk(
        self,
        chunk: bytes,
        device_id: str = DEVICE_ID,
        received_at: datetime = RECEIVED_AT,
        ingestor: Ingestor | None = None,
    ) -> Outcome:
        """Send one raw message on `device_id`'s evidence topic."""
        topic = self.topics.evidence(device_id)
        return ingest_once(ingestor or self.ingestor, topic, chunk, received_at=received_at)

    def count(self, model: type[SQLModel], *where: Any) -> int:
        """Rows of `model` matching `where`."""
        with self.db.session() as session:
            return int(session.exec(select(func.count()).select_from(model).where(*where)).one())

    def audits(self, action: str) -> list[AuditEvent]:
        """Audit events with `action`, oldest first."""
        with self.db.session() as session:
            statement = select(AuditEvent).where(col(AuditEvent.action) == action)
            return list(session.exec(statement.order_by(col(AuditEvent.id))).all())

    def second_ingestor(self, **limits: Any) -> Ingestor:
        """Another ingestor on the same database and store (a second worker or process)."""
        return Ingestor(self.db.engine, self.store, self.server_key, _limits(**limits))


def _packet_id(data: bytes) -> uuid.UUID:
    """The packet's own id, as a box chunks it; a fresh one for bytes that are no packet."""
    try:
        return decode_packet(data).header.packet_id
    except ProtocolError:
        return new_packet_id()


def _limits(**overrides: Any) -> IngestLimits:
    return dataclasses.replace(LIMITS, **overrides)


@pytest.fixture
def ingest_env(db: Database, tmp_path: Path) -> IngestEnv:
    """An ingestor with the enrolled test device; its server key registered."""
    server_key = generate_private_key()
    with db.session() as session:
        make_site(session, id=SITE_ID)
        make_device(session, id=DEVICE_ID, site_id=SITE_ID)
        make_device_key(session, private_key=fixed_device_key(), device_id=DEVICE_ID)
        register_server_key(session, server_key)
    store = FilesystemEvidenceStore(tmp_path / "evidence")
    return IngestEnv(db, store, server_key, Ingestor(db.engine, store, server_key, LIMITS))
