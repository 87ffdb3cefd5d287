"""The audit log for auditors: read and verify it; nobody edits it through the application."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_
from sqlmodel import col, select

from central_server.accounts.dependencies import Principal, Requires, SessionDep
from central_server.accounts.permissions import Permission
from central_server.api.common import ERROR_RESPONSES
from central_server.api.violations.schemas import UtcTime
from central_server.audit import verify_chain
from central_server.models import AuditDetail, AuditEvent

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ERROR_RESPONSES)

AuditReader = Annotated[Principal, Depends(Requires(Permission.audit_read))]


class AuditQuery(BaseModel):
    """Filters of the audit log; pages go forward from `after_id`."""

    model_config = ConfigDict(extra="forbid")

    entity_type: str | None = Field(default=None, max_length=64)
    entity_id: str | None = Field(default=None, max_length=128)
    actor: str | None = Field(default=None, max_length=128)
    action: str | None = Field(default=None, max_length=64)
    at_from: UtcTime | None = None
    at_to: UtcTime | None = None
    after_id: int = Field(default=0, ge=0, le=2**31 - 1)
    limit: int = Field(default=100, ge=1, le=1000)


class AuditEventPublic(BaseModel):
    """One event of the chain, with its values unless retention purged them."""

    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before_sha256: str | None
    after_sha256: str | None
    prev_hash: str
    hash: str
    before: Any = None
    after: Any = None


class ChainReportPublic(BaseModel):
    """Whether the chain verifies, and where it first breaks."""

    ok: bool
    events_checked: int
    first_broken_event_id: int | None
    field: str | None
    reason: str | None


@router.get("/events")
def list_events(
    query: Annotated[AuditQuery, Query()], principal: AuditReader, session: SessionDep
) -> list[AuditEventPublic]:
    """Nhật ký / audit events in chain order, filtered."""
    conditions = [col(AuditEvent.id) > query.after_id]
    for name in ("entity_type", "entity_id", "actor", "action"):
        value = getattr(query, name)
        if value is not None:
            conditions.append(getattr(AuditEvent, name) == value)
    if query.at_from is not None:
        conditions.append(col(AuditEvent.at) >= query.at_from)
    if query.at_to is not None:
        conditions.append(col(AuditEvent.at) < query.at_to)
    statement = (
        select(AuditEvent, AuditDetail)
        .outerjoin(AuditDetail, col(AuditDetail.event_id) == col(AuditEvent.id))
        .where(and_(*conditions))
        .order_by(col(AuditEvent.id))
        .limit(query.limit)
    )
    return [
        AuditEventPublic.model_validate(
            event.model_dump()
            | ({} if detail is None else {"before": detail.before, "after": detail.after})
        )
        for event, detail in session.exec(statement).all()
    ]


@router.get("/verify")
def verify(principal: AuditReader, session: SessionDep) -> ChainReportPublic:
    """Kiểm tra chuỗi / recompute the whole chain and name the first broken link."""
    report = verify_chain(session)
    return ChainReportPublic.model_validate(report, from_attributes=True)
