"""The police pages: the queue (overdue first), a case with its steps, the printable case sheet.

The pages only read; every step (claim, confirm, dismiss, notice, decision, payment, records) is
the browser calling the staff API (`static/police.js`), so the workflow's checks and audit rows
are the API's. Opening a case or its sheet is an evidence view and is audited like the API's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from central_server.accounts.dependencies import Principal, SessionDep, now
from central_server.accounts.permissions import Permission
from central_server.api.common import IntId
from central_server.api.violations import service as cases
from central_server.roles import Role
from central_server.web.auth import PageRequires
from central_server.web.i18n import N_
from central_server.web.nav import NavItem
from central_server.web.police_case_view import police_case
from central_server.web.police_view import MAX_OFFSET, police_queue
from central_server.web.routing import PageRoute
from central_server.web.templating import render
from central_server.workflow.deadlines import local_date

router = APIRouter(route_class=PageRoute, include_in_schema=False, tags=["web"])

Police = Annotated[Principal, Depends(PageRequires(Permission.police_record))]
NAV = [
    NavItem(
        "/police",
        N_("Xác minh, xử lý"),
        Permission.police_record,
        order=20,
        home_for=frozenset({Role.police_officer, Role.police_lead}),
    )
]
TabParam = Annotated[str, Query(max_length=20, pattern=r"^[a-z_]+$")]
OffsetParam = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
DoneParam = Annotated[str, Query(max_length=40, pattern=r"^[a-z_]*$")]

# What the page says after the browser's step succeeded (police.js reloads with ?done=<step>).
DONE_MESSAGES: dict[str, str] = {
    "claim": N_("Đã nhận xác minh vụ việc."),
    "release": N_("Đã trả vụ việc về hàng chờ."),
    "confirm": N_("Đã kết luận có vi phạm."),
    "dismiss": N_("Đã kết luận không vi phạm."),
    "notify": N_("Đã ghi nhận thông báo vi phạm."),
    "penalize": N_("Đã ghi nhận quyết định xử phạt."),
    "pay": N_("Đã ghi nhận nộp phạt."),
    "close": N_("Đã kết thúc vụ việc."),
    "owner_identified": N_("Đã ghi nhận chủ phương tiện."),
    "transfer": N_("Đã ghi nhận chuyển vụ việc."),
    "escalation": N_("Đã ghi nhận cảnh báo."),
}
JS_MESSAGES = {
    "confirm_dismiss": N_("Kết luận không vi phạm? Vụ việc sẽ không được xử phạt."),
    "working": N_("Đang lưu…"),
}


@router.get("/police", response_class=HTMLResponse)
def queue_page(
    principal: Police,
    request: Request,
    session: SessionDep,
    tab: TabParam = "open",
    offset: OffsetParam = 0,
) -> HTMLResponse:
    """Hàng chờ xác minh / the police queue: overdue and nearly due first."""
    page = police_queue(session, principal.actor, now(request), tab=tab, offset=offset)
    return render(request, "police/queue.html", {"page": page}, principal=principal)


@router.get("/police/cases/{violation_id}", response_class=HTMLResponse)
def case_page(
    violation_id: IntId,
    principal: Police,
    request: Request,
    session: SessionDep,
    done: DoneParam = "",
) -> HTMLResponse:
    """Hồ sơ vụ việc / a case with its evidence, deadlines, records and the next steps."""
    at = now(request)
    view = police_case(session, violation_id, principal.actor, at, media=True)
    cases.audit_view(session, view.violation, principal.actor, {"view": "police_case"})
    context = {
        "case": view,
        "today": local_date(at),
        "done": DONE_MESSAGES.get(done),
        "js_messages": JS_MESSAGES,
    }
    return render(request, "police/case.html", context, principal=principal)


@router.get("/police/cases/{violation_id}/sheet", response_class=HTMLResponse)
def case_sheet(
    violation_id: IntId, principal: Police, request: Request, session: SessionDep
) -> HTMLResponse:
    """Phiếu vụ việc / the printable case sheet for the paper file (photos, facts, law)."""
    at: datetime = now(request)
    view = police_case(session, violation_id, principal.actor, at, media=True)
    cases.audit_view(session, view.violation, principal.actor, {"view": "case_sheet"})
    context = {"case": view, "printed_at": at}
    return render(request, "police/sheet.html", context, principal=principal)
