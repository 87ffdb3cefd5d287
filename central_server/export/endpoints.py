"""Download a case's evidence bundle (police, admins); every export is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from central_server import audit
from central_server.accounts.dependencies import Principal, Requires, SessionDep, now
from central_server.accounts.permissions import Permission
from central_server.api.common import ERROR_RESPONSES, IntId, evidence_store, server_key
from central_server.api.violations.service import get_violation
from central_server.export.bundle import build_bundle
from central_server.server_keys import register_server_key

router = APIRouter(prefix="/api/v1/violations", tags=["evidence export"], responses=ERROR_RESPONSES)

Exporter = Annotated[Principal, Depends(Requires(Permission.evidence_export))]


@router.get(
    "/{violation_id}/export",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "The bundle (ZIP)."}},
)
def export_bundle(
    violation_id: IntId, principal: Exporter, request: Request, session: SessionDep
) -> Response:
    """Xuất gói bằng chứng / the case's signed evidence bundle, checkable offline with
    `trafficwatch evidence verify` (docs/evidence-bundle.md)."""
    get_violation(session, violation_id, actor=principal.actor)  # 404 / scope
    key = server_key(request)
    register_server_key(session, key)
    bundle = build_bundle(
        session,
        evidence_store(request),
        violation_id=violation_id,
        server_key=key,
        exported_by=principal.actor.audit_name,
        now=now(request),
    )
    audit.append(
        session,
        actor=principal.actor.audit_name,
        action="evidence.exported",
        entity_type="violation",
        entity_id=violation_id,
        after={"bundle_sha256": bundle.sha256, "size": len(bundle.data)},
    )
    return Response(
        bundle.data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{bundle.filename}"',
            "Cache-Control": "private, no-store",
            "X-Content-SHA256": bundle.sha256,
        },
    )
