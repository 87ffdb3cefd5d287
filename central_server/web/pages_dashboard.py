"""The leaders' dashboard: today's and this month's figures, overdue cases, reasons, devices,
and the monthly reports (listed here, downloaded through the reports API, which audits it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from central_server.accounts.dependencies import Principal, SessionDep, now
from central_server.accounts.permissions import Permission
from central_server.roles import Role
from central_server.web.auth import PageRequires
from central_server.web.dashboard_view import dashboard
from central_server.web.i18n import N_
from central_server.web.nav import NavItem
from central_server.web.police_view import DUE_KIND_LABELS
from central_server.web.routing import PageRoute
from central_server.web.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False, tags=["web"])

Leader = Annotated[Principal, Depends(PageRequires(Permission.report_read))]
NAV = [
    NavItem(
        "/dashboard",
        N_("Thống kê"),
        Permission.report_read,
        order=30,
        home_for=frozenset({Role.leader}),
    )
]
JS_MESSAGES = {
    "report_made": N_("Đã lập báo cáo."),
    "working": N_("Đang lập báo cáo…"),
}


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(principal: Leader, request: Request, session: SessionDep) -> HTMLResponse:
    """Thống kê / the leaders' figures (no faces, no plates, no media)."""
    view = dashboard(session, principal.actor, now(request), with_reports=True)
    context = {
        "d": view,
        "due_labels": DUE_KIND_LABELS,
        "can_run_report": Permission.report_run in principal.permissions,
        "js_messages": JS_MESSAGES,
    }
    return render(request, "dashboard/index.html", context, principal=principal)
