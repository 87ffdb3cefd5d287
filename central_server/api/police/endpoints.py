"""Police records on a case: owner identified, transfer (form 03), escalation. Notices, penalty
decisions and payments are recorded with their transitions (notify, penalize, pay)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict

from central_server.accounts.dependencies import Principal, Requires, SessionDep, now
from central_server.accounts.permissions import Permission
from central_server.api.common import ERROR_RESPONSES, IntId
from central_server.api.violations import service as cases
from central_server.api.violations.schemas import PoliceRecordPublic
from central_server.workflow.models import PoliceRecordKind
from central_server.workflow.police import add_police_record, list_police_records

router = APIRouter(prefix="/api/v1/violations", tags=["police"], responses=ERROR_RESPONSES)

CaseReader = Annotated[Principal, Depends(Requires(Permission.case_read))]
PoliceRecorder = Annotated[Principal, Depends(Requires(Permission.police_record))]


class RecordCreate(BaseModel):
    """A record and what it says (fields by kind: see the workflow's record schemas)."""

    model_config = ConfigDict(extra="forbid")

    kind: PoliceRecordKind
    data: dict[str, Any]


@router.get("/{violation_id}/records")
def list_records(
    violation_id: IntId, principal: CaseReader, session: SessionDep
) -> list[PoliceRecordPublic]:
    """Thông tin xử lý / the case's police records."""
    cases.get_violation(session, violation_id, actor=principal.actor)
    return [
        PoliceRecordPublic.model_validate(r.model_dump())
        for r in list_police_records(session, violation_id)
    ]


@router.post("/{violation_id}/records", status_code=status.HTTP_201_CREATED)
def add_record(
    violation_id: IntId,
    body: RecordCreate,
    principal: PoliceRecorder,
    request: Request,
    session: SessionDep,
) -> PoliceRecordPublic:
    """Ghi nhận / record owner identified, a transfer or the escalation (audited)."""
    cases.get_violation(session, violation_id, actor=principal.actor)
    record = add_police_record(
        session,
        violation_id=violation_id,
        kind=body.kind,
        data=body.data,
        actor=principal.actor,
        now=now(request),
    )
    return PoliceRecordPublic.model_validate(record.model_dump())
