"""A small running installation for the backup tests: real packets ingested with their media, cases
worked through the workflow into every state, a quarantined packet, a purged case, a monthly
report, a signed audit head; its settings as the server's processes would read them."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from central_server.db import make_engine
from central_server.devices.service import enrol_device
from central_server.evidence_store import FilesystemEvidenceStore
from central_server.ingest import IngestLimits, Ingestor, ingest_once
from central_server.models import Violation, ViolationStatus
from central_server.reports.jobs import make_report
from central_server.reports.period import latest_closed_period
from central_server.retention.service import purge_violation
from central_server.roles import Actor, Role
from central_server.scheduler.audit_head import sign_head
from central_server.server_keys import load_or_create_server_key, register_server_key
from central_server.settings import Settings, get_settings
from central_server.workflow.service import Action, transition
from protocol.chunks import split_packet
from protocol.enums import MediaRole
from protocol.ids import new_packet_id
from protocol.keys import Ed25519PrivateKey
from protocol.topics import Topics
from tests.central_server.workflow.conftest import make_actor, notice, payment, penalty
from tests.factories import (
    DEVICE_ID,
    fake_jpeg,
    fake_mp4,
    fixed_device_key,
    make_packet,
    violation_dict,
)
from tests.factories_db import make_site
from tests.fixtures.db import TEST_DATABASE_URL_ENV, Database

S = ViolationStatus
SITE_ID = "dong-hoi-01"
LIMITS = IngestLimits(
    max_clock_skew_s=300,
    chunk_stage_ttl_s=600,
    chunk_stage_max_bytes_per_device=64 * 1024 * 1024,
    sequence_gap_report_after_s=3600,
)
# The steps from a new case to each state, by who (DESIGN.md's transition table).
STEPS: dict[ViolationStatus, list[tuple[Action, str, dict[str, Any]]]] = {
    S.pending_review: [],
    S.approved: [(Action.approve, "operator", {})],
    S.rejected: [(Action.reject, "operator", {"reason_code": "duplicate"})],
    S.verifying: [(Action.approve, "operator", {}), (Action.claim, "officer", {})],
}
STEPS[S.confirmed] = [*STEPS[S.verifying], (Action.confirm, "officer", {})]
STEPS[S.dismissed] = [
    *STEPS[S.verifying],
    (Action.dismiss, "officer", {"reason_code": "amber_grace"}),
]
STEPS[S.notified] = [*STEPS[S.confirmed], (Action.notify, "officer", {"data": "notice"})]
STEPS[S.penalized] = [*STEPS[S.notified], (Action.penalize, "lead", {"data": "penalty"})]
STEPS[S.paid] = [*STEPS[S.penalized], (Action.pay, "officer", {"data": "payment"})]
STEPS[S.closed] = [*STEPS[S.penalized], (Action.close, "lead", {})]
STEPS[S.expired] = [*STEPS[S.approved], (Action.expire, "scheduler", {})]
DATA = {"notice": notice, "penalty": penalty, "payment": payment}


def server_settings(db_url: str, data_dir: Path) -> Settings:
    """Settings as the server's processes would read them for this installation."""
    return Settings(_env_file=None, data_dir=data_dir, database_url=db_url)


@dataclass
class System:
    """One installation: its settings, database, store, key, ingest and staff."""

    settings: Settings
    db: Database
    store: FilesystemEvidenceStore
    server_key: Ed25519PrivateKey
    people: dict[str, Actor]
    ingestor: Ingestor
    cases: dict[str, int] = field(default_factory=dict)  # case id by the state it was taken to
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def ingest(self, *, dropped: tuple[MediaRole, ...] = (), tamper: bool = False) -> int | None:
        """Ingest a device-signed packet with media of its own; the new case's id."""
        seq = next(self._seq)
        occurred = datetime.now(timezone.utc) - timedelta(days=1, seconds=seq)
        parts = {
            MediaRole.scene_at: fake_jpeg(400, tag=seq * 10 + 1),
            MediaRole.plate_crop: fake_jpeg(120, tag=seq * 10 + 2),
            MediaRole.clip: fake_mp4(2000),  # the same bytes in every packet: one object
        }
        header, data = make_packet(
            parts,
            dropped=dropped,
            seq=seq,
            packet_id=new_packet_id(),
            created_at=occurred + timedelta(seconds=4),
            violation=violation_dict(occurred) | {"vehicle_class": "car"},
        )
        if tamper:
            data = data[:-1] + bytes([data[-1] ^ 0x01])  # a media byte changed: quarantined
        topic = Topics().evidence(DEVICE_ID)
        for chunk in split_packet(header.packet_id, data, 1 << 20):
            outcome = ingest_once(
                self.ingestor, topic, chunk, received_at=occurred + timedelta(seconds=10)
            )
        if tamper:
            assert outcome.kind.value == "rejected", outcome
            return None
        assert outcome.kind.value == "stored", outcome
        with self.db.session() as session:
            statement = select(col(Violation.id)).where(
                col(Violation.packet_id) == header.packet_id
            )
            return int(session.exec(statement).one())

    def drive(self, violation_id: int, status: ViolationStatus) -> None:
        """Take a new case to `status` by real transitions."""
        for action, who, kwargs in STEPS[status]:
            args: dict[str, Any] = {k: DATA[v]() if k == "data" else v for k, v in kwargs.items()}
            late = timedelta(days=400) if action is Action.expire else timedelta(0)
            with self.db.session() as session:
                transition(
                    session,
                    violation_id=violation_id,
                    action=action,
                    actor=self.people[who],
                    now=datetime.now(timezone.utc) + late,
                    **args,
                )

    def statuses(self) -> dict[int, str]:
        """Every case's status, by id."""
        with self.db.session() as session:
            rows = session.exec(select(col(Violation.id), col(Violation.status))).all()
        return {int(i): s.value for i, s in rows}


def start_system(db: Database, data_dir: Path) -> System:
    """An installation on `db` with the test device enrolled and staff of every role."""
    settings = server_settings(db.url, data_dir)
    server_key = load_or_create_server_key(settings.server_key_path)
    store = FilesystemEvidenceStore(settings.evidence_dir)
    roles = {
        "operator": Role.operator,
        "officer": Role.police_officer,
        "lead": Role.police_lead,
        "admin": Role.admin,
    }
    with db.session() as session:
        register_server_key(session, server_key)
        make_site(session, id=SITE_ID, ward="Phường Đồng Hới")
        enrol_device(
            session,
            device_id=DEVICE_ID,
            public_key=fixed_device_key().public_key(),
            actor="user:1",
            site_id=SITE_ID,
        )
        people = {name: make_actor(session, role) for name, role in roles.items()}
    people["scheduler"] = Actor.system("scheduler")
    ingestor = Ingestor(db.engine, store, server_key, LIMITS)
    return System(settings, db, store, server_key, people, ingestor)


def populate(system: System) -> dict[str, int]:
    """Cases in every state, a dropped part, a quarantined packet, a purged case, a report."""
    cases: dict[str, int] = {}
    for status in STEPS:
        dropped = (MediaRole.scene_at,) if status is S.pending_review else ()
        violation_id = system.ingest(dropped=dropped)
        assert violation_id is not None
        system.drive(violation_id, status)
        cases[status.value] = violation_id
    purged = system.ingest()
    assert purged is not None
    system.drive(purged, S.rejected)
    now = datetime.now(timezone.utc)
    with system.db.session() as session:
        purge_violation(session, system.store, purged, "rejected", now)
    cases["purged"] = purged
    system.ingest(tamper=True)
    with system.db.session() as session:
        make_report(
            session,
            system.store,
            latest_closed_period(now, time(0, 30)),
            actor="system:scheduler",
            now=now,
        )
        sign_head(session, system.server_key, now)
    return cases


@pytest.fixture
def system(db: Database, tmp_path: Path) -> System:
    """A running installation with cases in every state."""
    built = start_system(db, tmp_path / "source")
    built.cases = populate(built)
    return built


@pytest.fixture
def server_env(system: System, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[System]:
    """The installation's settings in the environment, as `trafficwatch server ...` reads them."""
    for name in list(os.environ):
        if name.startswith("TW_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TW_DATA_DIR", str(system.settings.data_dir))
    monkeypatch.setenv("TW_DATABASE_URL", system.db.url)
    get_settings.cache_clear()
    yield system
    get_settings.cache_clear()


@dataclass(frozen=True)
class Target:
    """Where a restore goes: a fresh data directory and a fresh, empty database."""

    data_dir: Path
    database_url: str

    def args(self) -> list[str]:
        """The restore command's target options."""
        return ["--data-dir", str(self.data_dir), "--database-url", self.database_url]

    def settings(self) -> Settings:
        """The restored installation's settings."""
        return server_settings(self.database_url, self.data_dir)


@pytest.fixture
def target(db: Database, tmp_path: Path) -> Iterator[Target]:
    """An empty installation of the same kind as `db` (PostgreSQL: a database of its own)."""
    data_dir = tmp_path / "restored"
    if db.kind == "sqlite":
        yield Target(data_dir, f"sqlite:///{data_dir / 'trafficwatch.db'}")
        return
    yield from _postgres_target(db, data_dir)


def _postgres_target(db: Database, data_dir: Path) -> Iterator[Target]:
    name = f"test_restore_{uuid.uuid4().hex[:12]}"
    admin = make_url(os.environ[TEST_DATABASE_URL_ENV])
    engine = make_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    # The same schema as the source (its search_path): the dump is of that schema.
    options = make_url(db.url).query.get("options")
    url = admin.set(database=name).update_query_dict({"options": str(options)})
    try:
        yield Target(data_dir, url.render_as_string(hide_password=False))
    finally:
        with engine.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        engine.dispose()
