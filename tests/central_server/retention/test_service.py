"""Retention purges what is due, keeps what is held or still needed, and the chain verifies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from central_server import audit
from central_server.evidence_store import FilesystemEvidenceStore
from central_server.models import (
    AuditEvent,
    EvidencePart,
    Packet,
    Quarantine,
    Violation,
    ViolationStatus,
)
from central_server.retention.holds import place_hold
from central_server.retention.models import RetentionPurge
from central_server.retention.service import apply_retention
from central_server.retention.settings import RetentionSettings
from protocol.enums import MediaRole
from tests.factories_db import make_packet, make_violation_in_state
from tests.fixtures.db import Database

LATER = datetime.now(timezone.utc) + timedelta(days=2 * 365)  # every case is past a year old
SETTINGS = RetentionSettings(_env_file=None, audit_detail_days=365)


@dataclass
class Cases:
    """Violation ids by what retention should do with them, and the media hashes of each."""

    rejected: int
    paid: int
    held: int
    open: int
    media: dict[int, list[str]]
    quarantine: int


def _case(
    session: Session, store: FilesystemEvidenceStore, status: ViolationStatus
) -> tuple[int, list[str]]:
    blob = store.put(f"packet {uuid.uuid4()}".encode())
    scene = store.put(f"scene {uuid.uuid4()}".encode())
    packet = make_packet(session, blob_sha256=blob, sha256=blob)
    session.add(
        EvidencePart(
            packet_id=packet.packet_id,
            role=MediaRole.scene_at,
            mime="image/jpeg",
            sha256=scene,
            size=10,
        )
    )
    violation = make_violation_in_state(session, status, packet_id=packet.packet_id)
    audit.append(
        session,
        actor="test",
        action="violation.plate_corrected",
        entity_type="violation",
        entity_id=violation.id or 0,
        after={"plate_text": violation.plate_text},
    )
    assert violation.id is not None
    return violation.id, [blob, scene]


@pytest.fixture
def store(tmp_path: Path) -> FilesystemEvidenceStore:
    """An evidence store holding the cases' media."""
    return FilesystemEvidenceStore(tmp_path / "evidence")


@pytest.fixture
def cases(db: Database, store: FilesystemEvidenceStore) -> Cases:
    """A rejected, a paid, a held closed and an open case, and a quarantined packet."""
    media: dict[int, list[str]] = {}
    with db.session() as session:
        ids = []
        for status in ("rejected", "paid", "closed", "confirmed"):
            vid, hashes = _case(session, store, ViolationStatus(status))
            media[vid] = hashes
            ids.append(vid)
        place_hold(
            session,
            ids[2],
            reason="Khiếu nại đang giải quyết",
            actor="user:1",
            now=datetime.now(timezone.utc),
        )
        blob = store.put(b"refused message")
        quarantined = Quarantine(
            topic="tw/v1/x/evidence",
            reason="bad_signature",
            detail="sig",
            sha256=blob,
            blob_sha256=blob,
        )
        session.add(quarantined)
        session.flush()
        assert quarantined.id is not None
    return Cases(ids[0], ids[1], ids[2], ids[3], media, quarantined.id)


def test_a_dry_run_lists_and_changes_nothing(
    db: Database, store: FilesystemEvidenceStore, cases: Cases
) -> None:
    with db.session() as session:
        summary = apply_retention(session, store, LATER, SETTINGS, dry_run=True)
    assert summary["ids"] == {
        "rejected": [cases.rejected],
        "terminal": [cases.paid],
        "quarantine": [cases.quarantine],
        "held": [cases.held],
    }
    assert all(store.exists(h) for hashes in cases.media.values() for h in hashes)
    with db.session() as session:
        assert session.exec(select(RetentionPurge)).all() == []


def test_retention_purges_what_is_due_and_keeps_what_is_held(
    db: Database, store: FilesystemEvidenceStore, cases: Cases
) -> None:
    with db.session() as session:
        packet_hashes = {p.packet_id: p.sha256 for p in session.exec(select(Packet)).all()}
        summary = apply_retention(session, store, LATER, SETTINGS)
    assert (summary["rejected"], summary["terminal"], summary["quarantine"]) == (1, 1, 1)
    for vid in (cases.rejected, cases.paid):
        assert not any(store.exists(h) for h in cases.media[vid])
    for vid in (cases.held, cases.open):
        assert all(store.exists(h) for h in cases.media[vid])
    with db.session() as session:
        purged = session.get(Violation, cases.paid)
        kept = session.get(Violation, cases.held)
        assert purged is not None and kept is not None
        assert (purged.plate_text, purged.plate_printed) == (None, None)
        assert purged.status is ViolationStatus.paid  # the case's history stays
        assert kept.plate_text == "51F12345"
        # Hashes stay: the packets and parts still say what the evidence was.
        assert {p.packet_id: p.sha256 for p in session.exec(select(Packet)).all()} == packet_hashes
        parts = session.exec(select(col(EvidencePart.sha256))).all()
        assert sorted(parts) == sorted(h for hashes in cases.media.values() for h in hashes[1:])
        quarantined = session.get(Quarantine, cases.quarantine)
        assert quarantined is not None and quarantined.blob_sha256 is None
        assert quarantined.sha256  # its hash and reason remain
        report = audit.verify_chain(session)
        assert report.ok, report
        actions = session.exec(select(AuditEvent.action)).all()
    assert actions.count("retention.purged") == 3
    assert "retention.audit_details_purged" in actions


def test_a_second_run_has_nothing_left_to_do(
    db: Database, store: FilesystemEvidenceStore, cases: Cases
) -> None:
    with db.session() as session:
        apply_retention(session, store, LATER, SETTINGS)
    with db.session() as session:
        again = apply_retention(session, store, LATER, SETTINGS)
    assert (again["rejected"], again["terminal"], again["quarantine"]) == (0, 0, 0)
    assert again["held"] == 1


def test_nothing_is_due_before_its_period(
    db: Database, store: FilesystemEvidenceStore, cases: Cases
) -> None:
    with db.session() as session:
        summary = apply_retention(session, store, datetime.now(timezone.utc), SETTINGS)
    assert summary | {"dry_run": False} == {
        "rejected": 0,
        "terminal": 0,
        "quarantine": 0,
        "audit_details": 0,
        "held": 0,
        "dry_run": False,
    }
