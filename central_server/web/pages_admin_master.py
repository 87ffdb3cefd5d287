"""Master data pages: sites, units, reason codes, the holiday calendar and deadline rules.

Everyone on staff may read master data (`master.read`); the edit forms show to administrators
(`master.manage`) and call the master-data API, which validates and audits every change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from central_server.accounts.dependencies import Principal, SessionDep, now
from central_server.accounts.permissions import Permission
from central_server.models import UnitKind
from central_server.web import admin_view
from central_server.web.auth import PageRequires
from central_server.web.i18n import N_
from central_server.web.police_view import DUE_KIND_LABELS
from central_server.web.routing import PageRoute
from central_server.web.templating import render
from central_server.workflow.deadlines import local_date
from central_server.workflow.reasons import PURPOSES

router = APIRouter(route_class=PageRoute, include_in_schema=False, tags=["web"])

Reader = Annotated[Principal, Depends(PageRequires(Permission.master_read))]
YearParam = Annotated[int | None, Query(ge=2000, le=2100)]
JS_MESSAGES = {
    "holiday_deleted": N_("Đã xóa ngày nghỉ."),
    "confirm_delete": N_("Xóa ngày này khỏi lịch?"),
}
UNIT_KIND_LABELS = {
    UnitKind.police.value: N_("Đơn vị Công an (xử lý)"),
    UnitKind.detecting.value: N_("Đơn vị phát hiện (vận hành camera)"),
}
DEADLINE_UNITS = {
    "days": N_("ngày"),
    "working_days": N_("ngày làm việc"),
    "years": N_("năm"),
}
PURPOSE_LABELS = {
    "reject": N_("Trung tâm loại"),
    "dismiss": N_("Công an kết luận không vi phạm"),
    "reopen": N_("Mở lại"),
}


def _context(principal: Principal) -> dict[str, object]:
    return {
        "tabs": admin_view.admin_tabs(principal.permissions),
        "can_edit": Permission.master_manage in principal.permissions,
        "js_messages": JS_MESSAGES,
        "unit_kinds": UNIT_KIND_LABELS,
        "purposes": {p: PURPOSE_LABELS[p] for p in sorted(PURPOSES)},
    }


@router.get("/admin/sites", response_class=HTMLResponse)
def sites_page(principal: Reader, request: Request, session: SessionDep) -> HTMLResponse:
    """Điểm giám sát / the sites with their ward, province and units."""
    units = admin_view.units(session)
    context = _context(principal) | {
        "sites": admin_view.sites(session),
        "units": units,
        "unit_names": {u.id: u.name for u in units},
    }
    return render(request, "admin/sites.html", context, principal=principal)


@router.get("/admin/units", response_class=HTMLResponse)
def units_page(principal: Reader, request: Request, session: SessionDep) -> HTMLResponse:
    """Đơn vị / police and detecting units (the public lookup shows them)."""
    context = _context(principal) | {"units": admin_view.units(session)}
    return render(request, "admin/units.html", context, principal=principal)


@router.get("/admin/reasons", response_class=HTMLResponse)
def reasons_page(principal: Reader, request: Request, session: SessionDep) -> HTMLResponse:
    """Lý do / reason codes for rejecting, dismissing and reopening (inactive ones too)."""
    context = _context(principal) | {"reasons": admin_view.reason_codes(session)}
    return render(request, "admin/reasons.html", context, principal=principal)


@router.get("/admin/holidays", response_class=HTMLResponse)
def holidays_page(
    principal: Reader, request: Request, session: SessionDep, year: YearParam = None
) -> HTMLResponse:
    """Lịch nghỉ / days off and weekend days worked of a year, and the deadline rules."""
    shown = year or local_date(now(request)).year
    context = _context(principal) | {
        "year": shown,
        "holidays": admin_view.holidays(session, shown),
        "rules": admin_view.deadline_rules(session),
        "due_labels": DUE_KIND_LABELS,
        "deadline_units": DEADLINE_UNITS,
    }
    return render(request, "admin/holidays.html", context, principal=principal)
