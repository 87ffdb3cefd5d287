"""Cases as the API shows them: summaries for lists, the full case with evidence and history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from central_server.api.violations import service
from central_server.api.violations.schemas import (
    EvidencePartPublic,
    HistoryEntry,
    PoliceRecordPublic,
    ReviewClaimPublic,
    ViolationDetail,
    ViolationSummary,
)
from central_server.models import Violation
from central_server.workflow.deadlines import overdue_kinds
from central_server.workflow.models import ReviewClaim
from central_server.workflow.states import STATUS_LABELS_VI, allowed_actions

MEDIA_URL = "/api/v1/violations/{id}/media/{role}"


def _summary_fields(
    violation: Violation, claim: ReviewClaim | None, now: datetime
) -> dict[str, Any]:
    fields = violation.model_dump(include=set(ViolationSummary.model_fields))
    fields["status_vi"] = STATUS_LABELS_VI[violation.status]
    fields["overdue"] = sorted(overdue_kinds(violation, now))
    fields["review_claim"] = (
        None
        if claim is None
        else ReviewClaimPublic(
            user_id=claim.user_id, claimed_at=claim.claimed_at, expires_at=claim.expires_at
        )
    )
    return fields


def summaries_of(session: Session, rows: list[Violation], now: datetime) -> list[ViolationSummary]:
    """List items for a page of cases (one query for their live claims)."""
    claims = service.active_claims(session, [v.id or 0 for v in rows], now)
    return [
        ViolationSummary.model_validate(_summary_fields(v, claims.get(v.id or 0), now))
        for v in rows
    ]


def _parts(session: Session, violation: Violation, media_urls: bool) -> list[EvidencePartPublic]:
    vid = violation.id or 0
    return [
        EvidencePartPublic(
            role=p.role,
            mime=p.mime,
            size=p.size,
            sha256=p.sha256,
            dropped=p.dropped,
            width=p.width,
            height=p.height,
            url=None
            if p.dropped or not media_urls
            else MEDIA_URL.format(id=vid, role=p.role.value),
        )
        for p in service.parts_of(session, violation)
    ]


def _history(session: Session, violation_id: int) -> list[HistoryEntry]:
    return [
        HistoryEntry(event_id=e.id or 0, at=e.at, actor=e.actor, action=e.action)
        for e in service.history_of(session, violation_id)
    ]


_DETAIL_FIELDS = {
    "device_id",
    "detected_at",
    "rule_version",
    "facts",
    "plate_lines",
    "plate_candidates",
    "plate_corrected_by",
    "plate_corrected_at",
    "reason_code",
    "reason_note",
    "legal_ref",
}


def detail_of(
    session: Session, violation: Violation, now: datetime, *, media_urls: bool
) -> ViolationDetail:
    """The whole case; media URLs only for those allowed to view the evidence."""
    vid = violation.id or 0
    claim = service.active_claims(session, [vid], now).get(vid)
    records = [
        PoliceRecordPublic.model_validate(r.model_dump())
        for r in service.police_records_of(session, vid)
    ]
    return ViolationDetail.model_validate(
        _summary_fields(violation, claim, now)
        | violation.model_dump(include=_DETAIL_FIELDS)
        | {
            "packet_id": str(violation.packet_id),
            "parts": _parts(session, violation, media_urls),
            "police_records": records,
            "history": _history(session, vid),
            "allowed_actions": allowed_actions(violation.status),
        }
    )
