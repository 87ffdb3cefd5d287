"""Retention: what is due, and purging it (media deleted, personal fields blanked, hashes kept).

Classes of data and when they are due (periods in `RetentionSettings`):
- rejected candidates: `rejected_days` after their last change;
- cases in a terminal state (dismissed, paid, closed, expired): `case_days` after capture
  (the limitation period) and `terminal_days` after reaching that state;
- quarantined packets: `quarantine_days` after receipt;
- audit details (before/after values): `audit_detail_days` after the event. The chain itself,
  every event's hashes, is kept: `audit verify` still passes after a purge.
A case under a legal hold is left whole. Every purge appends an audit event; a dry run lists.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, delete, exists, select
from sqlmodel import Session, col

from central_server import audit
from central_server.evidence_store import EvidenceStore
from central_server.models import (
    AuditDetail,
    AuditEvent,
    EvidencePart,
    Packet,
    Quarantine,
    Violation,
    ViolationStatus,
)
from central_server.retention.models import LegalHold, RetentionPurge
from central_server.retention.settings import RetentionSettings
from central_server.settings import env_file
from central_server.workflow.models import PoliceRecord, PublishedViolation

logger = logging.getLogger(__name__)

ACTOR = "system:retention"
TERMINAL = (
    ViolationStatus.dismissed,
    ViolationStatus.paid,
    ViolationStatus.closed,
    ViolationStatus.expired,
)


@dataclass
class RetentionPlan:
    """What is due: violation ids by class, quarantine ids, and the audit details' cut-off."""

    rejected: list[int] = field(default_factory=list)
    terminal: list[int] = field(default_factory=list)
    quarantine: list[int] = field(default_factory=list)
    audit_details: int = 0
    audit_before: datetime | None = None
    held: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Counts by class (the job's run record, the CLI's output)."""
        return {
            "rejected": len(self.rejected),
            "terminal": len(self.terminal),
            "quarantine": len(self.quarantine),
            "audit_details": self.audit_details,
            "held": len(self.held),
        }


def _held_ids(session: Session) -> set[int]:
    statement = select(col(LegalHold.violation_id)).where(col(LegalHold.released_at).is_(None))
    return set(session.execute(statement).scalars())


def _not_purged(entity_type: str, id_column: Any) -> Any:
    return ~exists().where(
        col(RetentionPurge.entity_type) == entity_type,
        col(RetentionPurge.entity_id) == cast(id_column, String),
    )


def plan(session: Session, now: datetime, settings: RetentionSettings) -> RetentionPlan:
    """Everything due for purging at `now` (nothing changed)."""
    held = _held_ids(session)
    fresh = _not_purged("violation", col(Violation.id))
    rejected = select(col(Violation.id)).where(
        col(Violation.status) == ViolationStatus.rejected,
        col(Violation.updated_at) < now - timedelta(days=settings.rejected_days),
        fresh,
    )
    terminal = select(col(Violation.id)).where(
        col(Violation.status).in_(TERMINAL),
        col(Violation.occurred_at) < now - timedelta(days=settings.case_days),
        col(Violation.updated_at) < now - timedelta(days=settings.terminal_days),
        fresh,
    )
    quarantine = select(col(Quarantine.id)).where(
        col(Quarantine.received_at) < now - timedelta(days=settings.quarantine_days),
        col(Quarantine.blob_sha256).is_not(None),
    )
    audit_age = timedelta(days=settings.audit_detail_days)
    result = RetentionPlan(audit_before=now - audit_age)
    for ids, statement in ((result.rejected, rejected), (result.terminal, terminal)):
        for violation_id in session.execute(statement.order_by(col(Violation.id))).scalars():
            (result.held if violation_id in held else ids).append(violation_id)
    result.quarantine = list(session.execute(quarantine.order_by(col(Quarantine.id))).scalars())
    result.audit_details = len(_due_details(session, now - audit_age, held))
    return result


def _due_details(session: Session, before: datetime, held: set[int]) -> list[int]:
    statement = (
        select(col(AuditEvent.id), col(AuditEvent.entity_type), col(AuditEvent.entity_id))
        .join(AuditDetail, col(AuditDetail.event_id) == col(AuditEvent.id))
        .where(col(AuditEvent.at) < before)
    )
    held_ids = {str(i) for i in held}
    return [
        row.id
        for row in session.execute(statement)
        if not (row.entity_type == "violation" and row.entity_id in held_ids)
    ]


def _blobs_of(session: Session, violation: Violation) -> set[str]:
    packet = session.get(Packet, violation.packet_id)
    parts = select(col(EvidencePart.sha256)).where(
        col(EvidencePart.packet_id) == violation.packet_id, col(EvidencePart.dropped).is_(False)
    )
    blobs = set(session.execute(parts).scalars())
    if packet is not None:
        blobs.add(packet.blob_sha256)
    return blobs


def _shared_elsewhere(session: Session, sha256: str, packet_id: Any) -> bool:
    """Whether another packet still needs these bytes (identical media in two packets)."""
    part = select(col(EvidencePart.id)).where(
        col(EvidencePart.sha256) == sha256, col(EvidencePart.packet_id) != packet_id
    )
    other = select(col(Packet.packet_id)).where(
        col(Packet.blob_sha256) == sha256, col(Packet.packet_id) != packet_id
    )
    return session.execute(part.limit(1)).first() is not None or (
        session.execute(other.limit(1)).first() is not None
    )


def _anonymise(session: Session, violation: Violation) -> None:
    # The plate and free text identify people; the hashes (packet, parts, plate crop) stay.
    violation.plate_text = None
    violation.plate_printed = None
    violation.plate_candidates = None
    violation.plate_corrected_by = None
    violation.reason_note = None
    session.add(violation)
    records = select(PoliceRecord).where(col(PoliceRecord.violation_id) == violation.id)
    for record in session.execute(records).scalars():
        record.note = ""
        session.add(record)
    published = session.get(PublishedViolation, violation.id)
    if published is not None:
        session.delete(published)


def purge_violation(
    session: Session, store: EvidenceStore, violation_id: int, data_class: str, now: datetime
) -> int:
    """Delete a case's media, blank its personal fields, record and audit it; blobs deleted."""
    violation = session.get(Violation, violation_id)
    assert violation is not None
    deleted = 0
    # Bytes go before the commit: a rolled-back purge leaves the case unpurged with some media
    # missing, and the next run finishes it (deleting a missing object is no error).
    for sha256 in sorted(_blobs_of(session, violation)):
        if not _shared_elsewhere(session, sha256, violation.packet_id):
            store.delete(sha256)
            deleted += 1
    _anonymise(session, violation)
    session.add(
        RetentionPurge(
            entity_type="violation",
            entity_id=str(violation_id),
            data_class=data_class,
            purged_at=now,
            blobs_deleted=deleted,
        )
    )
    audit.append(
        session,
        actor=ACTOR,
        action="retention.purged",
        entity_type="violation",
        entity_id=violation_id,
        after={"class": data_class, "blobs_deleted": deleted, "status": violation.status.value},
    )
    return deleted


def purge_quarantine(session: Session, store: EvidenceStore, row_id: int) -> None:
    """Delete a quarantined message's bytes; its hash and reason stay; audited."""
    row = session.get(Quarantine, row_id)
    assert row is not None and row.blob_sha256 is not None
    store.delete(row.blob_sha256)
    row.blob_sha256, row.detail = None, ""
    session.add(row)
    audit.append(
        session,
        actor=ACTOR,
        action="retention.purged",
        entity_type="quarantine",
        entity_id=row_id,
        after={"class": "quarantine", "sha256": row.sha256},
    )


def purge_audit_details(session: Session, before: datetime) -> int:
    """Delete before/after values of events older than `before` (held cases' kept); audited."""
    ids = _due_details(session, before, _held_ids(session))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        session.execute(delete(AuditDetail).where(col(AuditDetail.event_id).in_(chunk)))
    if ids:
        audit.append(
            session,
            actor=ACTOR,
            action="retention.audit_details_purged",
            entity_type="audit_detail",
            entity_id=max(ids),
            after={"count": len(ids), "before": before, "first": min(ids), "last": max(ids)},
        )
    return len(ids)


def apply_retention(
    session: Session,
    store: EvidenceStore,
    now: datetime,
    settings: RetentionSettings | None = None,
    *,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Purge everything due at `now` (or only list it with `dry_run`); no commit."""
    settings = settings or RetentionSettings(_env_file=env_file())
    due = plan(session, now, settings)
    summary = due.summary() | {"dry_run": dry_run}
    if dry_run:
        return summary | {
            "ids": {
                "rejected": due.rejected,
                "terminal": due.terminal,
                "quarantine": due.quarantine,
                "held": due.held,
            }
        }
    for violation_id in due.rejected:
        purge_violation(session, store, violation_id, "rejected", now)
    for violation_id in due.terminal:
        purge_violation(session, store, violation_id, "terminal", now)
    for row_id in due.quarantine:
        purge_quarantine(session, store, row_id)
    assert due.audit_before is not None
    purge_audit_details(session, due.audit_before)
    logger.info("retention applied: %s", summary)
    return summary
