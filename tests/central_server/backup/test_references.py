"""What the database references in the evidence store: what a backup must hold."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from central_server.backup.references import referenced_media
from central_server.models import EvidencePart, Packet, Quarantine, Violation
from central_server.reports.models import MonthlyReport
from tests.central_server.backup.conftest import System

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def test_live_cases_reports_and_quarantine_are_referenced_purged_and_dropped_are_not(
    system: System,
) -> None:
    with system.db.engine.connect() as conn:
        referenced = referenced_media(conn)
    with system.db.session() as session:
        purged = session.get(Violation, system.cases["purged"])
        assert purged is not None
        purged_packet = session.get(Packet, purged.packet_id)
        assert purged_packet is not None
        dropped = session.exec(select(EvidencePart).where(col(EvidencePart.dropped))).one()
        report = session.exec(select(MonthlyReport)).one()
        quarantined = session.exec(select(Quarantine)).one()
        pending = session.get(Violation, system.cases["pending_review"])
        assert pending is not None and pending.plate_crop_sha256 is not None
    assert purged_packet.blob_sha256 not in referenced
    assert dropped.sha256 not in referenced
    assert {report.pdf_sha256, report.xlsx_sha256, report.csv_sha256} <= set(referenced)
    assert quarantined.blob_sha256 in referenced
    assert pending.plate_crop_sha256 in referenced
    assert all(system.store.exists(sha) for sha in referenced)
