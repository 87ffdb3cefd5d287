"""Cases: the filtered list, one case with its evidence (every view audited), the media, plate
corrections and workflow transitions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response

from central_server.accounts.dependencies import Principal, Requires, SessionDep, now
from central_server.accounts.permissions import Permission
from central_server.api.common import ERROR_RESPONSES, IntId, evidence_store
from central_server.api.violations import service
from central_server.api.violations.presenters import detail_of, summaries_of
from central_server.api.violations.schemas import (
    PlateCorrection,
    TransitionRequest,
    ViolationDetail,
    ViolationPage,
    ViolationQuery,
)
from central_server.errors import AppError
from central_server.workflow.service import transition
from protocol.enums import MediaRole

router = APIRouter(prefix="/api/v1/violations", tags=["violations"], responses=ERROR_RESPONSES)

CaseReader = Annotated[Principal, Depends(Requires(Permission.case_read))]
EvidenceViewer = Annotated[Principal, Depends(Requires(Permission.evidence_view))]
Reviewer = Annotated[Principal, Depends(Requires(Permission.case_review))]
Actor_ = Annotated[Principal, Depends(Requires(Permission.case_transition))]


@router.get("")
def list_violations(
    query: Annotated[ViolationQuery, Query()],
    principal: CaseReader,
    request: Request,
    session: SessionDep,
) -> ViolationPage:
    """Danh sách vi phạm / cases by state, type, site, ward, date, plate, due date, claim."""
    at = now(request)
    rows, next_offset = service.list_violations(session, query, actor=principal.actor, now=at)
    return ViolationPage(items=summaries_of(session, rows, at), next_offset=next_offset)


@router.get("/{violation_id}")
def get_violation(
    violation_id: IntId, principal: CaseReader, request: Request, session: SessionDep
) -> ViolationDetail:
    """Hồ sơ vi phạm / a case with its evidence list, police records and history (audited)."""
    violation = service.get_violation(session, violation_id, actor=principal.actor)
    service.audit_view(session, violation, principal.actor, {"view": "case"})
    can_view = Permission.evidence_view in principal.permissions
    return detail_of(session, violation, now(request), media_urls=can_view)


@router.get(
    "/{violation_id}/media/{role}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "video/mp4": {}}, "description": "The part."}},
)
def get_media(
    violation_id: IntId,
    role: MediaRole,
    principal: EvidenceViewer,
    request: Request,
    session: SessionDep,
) -> Response:
    """Ảnh / video của vi phạm / one media part, as the device signed it (every read audited)."""
    violation = service.get_violation(session, violation_id, actor=principal.actor)
    part = next((p for p in service.parts_of(session, violation) if p.role is role), None)
    store = evidence_store(request)
    if part is None or part.dropped or not store.exists(part.sha256):
        raise AppError(
            404,
            "media_not_found",
            "Vi phạm không có ảnh/video này.",
            f"This case has no {role.value} media.",
        )
    service.audit_view(
        session, violation, principal.actor, {"view": "media", "role": role, "sha256": part.sha256}
    )
    headers = {"Cache-Control": "private, no-store", "X-Content-SHA256": part.sha256}
    path = store.path_for(part.sha256)
    if path is not None:
        # Streamed from disk with Range support (a video player seeks in the clip).
        return FileResponse(path, media_type=part.mime, headers=headers)
    return Response(store.get(part.sha256), media_type=part.mime, headers=headers)


@router.put("/{violation_id}/plate")
def correct_plate(
    violation_id: IntId,
    body: PlateCorrection,
    principal: Reviewer,
    request: Request,
    session: SessionDep,
) -> ViolationDetail:
    """Sửa biển số / correct the plate while reviewing (audited)."""
    at = now(request)
    violation = service.correct_plate(session, violation_id, body, actor=principal.actor, now=at)
    return detail_of(session, violation, at, media_urls=True)


@router.post("/{violation_id}/transitions")
def apply_transition(
    violation_id: IntId,
    body: TransitionRequest,
    principal: Actor_,
    request: Request,
    session: SessionDep,
) -> ViolationDetail:
    """Phê duyệt, loại, xác minh, kết luận... / act on a case (roles and state checked; 409 on
    a stale version or a concurrent change)."""
    at = now(request)
    service.get_violation(session, violation_id, actor=principal.actor)  # 404 / scope first
    violation = transition(
        session,
        violation_id=violation_id,
        action=body.action,
        actor=principal.actor,
        expected_version=body.expected_version,
        reason_code=body.reason_code,
        note=body.note,
        data=body.data,
        now=at,
    )
    return detail_of(session, violation, at, media_urls=True)
