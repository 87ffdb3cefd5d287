"""The monthly reports for leaders: list, download (every download audited), make one now."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from central_server import audit
from central_server.accounts.dependencies import Principal, Requires, SessionDep, now
from central_server.accounts.permissions import Permission
from central_server.api.common import ERROR_RESPONSES, IntId, evidence_store
from central_server.errors import AppError
from central_server.reports.jobs import list_reports, make_report
from central_server.reports.models import MonthlyReport
from central_server.reports.period import period_for

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=ERROR_RESPONSES)

Reader = Annotated[Principal, Depends(Requires(Permission.report_read))]
Runner = Annotated[Principal, Depends(Requires(Permission.report_run))]
Format = Literal["pdf", "xlsx", "csv"]
MEDIA_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


class ReportPublic(BaseModel):
    """A stored report as listed."""

    id: int
    period: str
    revision: int
    period_start: datetime
    period_end: datetime
    generated_at: datetime
    generated_by: str
    totals: dict[str, int]


class ReportRequest(BaseModel):
    """Which period to make a report for."""

    period: str = Field(pattern=r"^2\d{3}-(0[1-9]|1[0-2])$", description="YYYY-MM (2000-2999)")


def _public(report: MonthlyReport) -> ReportPublic:
    return ReportPublic.model_validate(report, from_attributes=True)


@router.get("")
def get_reports(principal: Reader, session: SessionDep) -> list[ReportPublic]:
    """Danh sách báo cáo tháng / the stored monthly reports, newest first."""
    return [_public(report) for report in list_reports(session)]


@router.post("", status_code=201)
def run_report(
    body: ReportRequest, principal: Runner, request: Request, session: SessionDep
) -> ReportPublic:
    """Lập báo cáo cho một kỳ / make a period's report now (a rerun adds a revision)."""
    period = period_for(body.period)
    at = now(request)
    if period.end > at:
        raise AppError(
            422,
            "period_not_ended",
            "Kỳ báo cáo chưa kết thúc.",
            "The period has not ended yet.",
            detail={"period_end": period.end.isoformat()},
        )
    report = make_report(
        session, evidence_store(request), period, actor=principal.actor.audit_name, now=at
    )
    return _public(report)


@router.get(
    "/{report_id}/{fmt}",
    response_class=Response,
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}, "description": "File."}},
)
def download_report(
    report_id: IntId, fmt: Format, principal: Reader, request: Request, session: SessionDep
) -> Response:
    """Tải báo cáo / download a report as PDF, XLSX or CSV (audited)."""
    report = session.get(MonthlyReport, report_id)
    if report is None:
        raise AppError(404, "not_found", "Không tìm thấy báo cáo.", "No such report.")
    sha256: str = getattr(report, f"{fmt}_sha256")
    data = evidence_store(request).get(sha256)
    audit.append(
        session,
        actor=principal.actor.audit_name,
        action="report.downloaded",
        entity_type="monthly_report",
        entity_id=report_id,
        after={"format": fmt, "sha256": sha256},
    )
    filename = f"bao-cao-{report.period}-r{report.revision}.{fmt}"
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
            "X-Content-SHA256": sha256,
        },
    )
