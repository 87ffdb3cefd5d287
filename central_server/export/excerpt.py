"""The audit excerpt of a bundle: a contiguous slice of the chain covering every case event.

The slice runs from the case's first event to its last, and on to the first signed chain head
after it when that is near (`HEAD_REACH` events), so the verifier can check the links and tie
the slice to a daily signature. Other cases' events inside the slice carry their hashed fields
only (ids, actors, actions: no values); the case's own events carry their before/after values.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from central_server.audit import format_at
from central_server.models import AuditDetail, AuditEvent, AuditHeadSignature

# How far past the case's last event to look for a signed head (a day of a busy centre).
HEAD_REACH = 50_000


def event_dict(event: AuditEvent) -> dict[str, Any]:
    """An event's hashed fields, `at` formatted as the chain hashes it."""
    return {
        "id": event.id,
        "at": format_at(event.at),
        "actor": event.actor,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "before_sha256": event.before_sha256,
        "after_sha256": event.after_sha256,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _case_event_ids(session: Session, entity_type: str, entity_id: str) -> list[int]:
    statement = (
        select(col(AuditEvent.id))
        .where(col(AuditEvent.entity_type) == entity_type, col(AuditEvent.entity_id) == entity_id)
        .order_by(col(AuditEvent.id))
    )
    return [int(i) for i in session.exec(statement).all()]


def _head_after(session: Session, last_id: int) -> AuditHeadSignature | None:
    statement = (
        select(AuditHeadSignature)
        .where(
            col(AuditHeadSignature.event_id) >= last_id,
            col(AuditHeadSignature.event_id) <= last_id + HEAD_REACH,
        )
        .order_by(col(AuditHeadSignature.event_id), col(AuditHeadSignature.id))
    )
    head: AuditHeadSignature | None = session.exec(statement).first()
    return head


def _details(session: Session, ids: list[int]) -> dict[str, dict[str, Any]]:
    details: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.exec(select(AuditDetail).where(col(AuditDetail.event_id).in_(chunk))).all()
        for row in rows:
            details[str(row.event_id)] = {"before": row.before, "after": row.after}
    return details


def audit_excerpt(session: Session, violation_id: int) -> dict[str, Any]:
    """The `audit.json` of a case's bundle."""
    case_ids = _case_event_ids(session, "violation", str(violation_id))
    if not case_ids:
        return {"events": [], "case_event_ids": [], "details": {}, "head_signature": None}
    head = _head_after(session, case_ids[-1])
    last_id = head.event_id if head is not None else case_ids[-1]
    events = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.id) >= case_ids[0], col(AuditEvent.id) <= last_id)
        .order_by(col(AuditEvent.id))
    ).all()
    signature = None
    if head is not None:
        signature = {
            "event_id": head.event_id,
            "head_hash": head.head_hash,
            "key_id": head.key_id,
            "signature": head.signature.hex(),
            "signed_at": format_at(head.signed_at),
        }
    return {
        "events": [event_dict(e) for e in events],
        "case_event_ids": case_ids,
        "details": _details(session, case_ids),
        "head_signature": signature,
    }


def enrolment_events(session: Session, device_id: str) -> list[dict[str, Any]]:
    """The device's own audit events (enrolment, keys), each with its values."""
    ids = _case_event_ids(session, "device", device_id)
    events = session.exec(select(AuditEvent).where(col(AuditEvent.id).in_(ids))).all()
    details = _details(session, ids)
    return [
        event_dict(e) | {"detail": details.get(str(e.id))}
        for e in sorted(events, key=lambda e: e.id or 0)
    ]
