"""The boxes: online, last seen, frame rates, outbox, disk, temperature, clock and alarms.

Figures come from the fleet-health tables the heartbeats fill (`devices.fleet_service`); an
administrator acknowledges an alarm through the fleet API, which audits it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from central_server.accounts.dependencies import Principal, SessionDep
from central_server.accounts.permissions import Permission
from central_server.roles import Role
from central_server.web import admin_view
from central_server.web.auth import PageRequires
from central_server.web.i18n import N_
from central_server.web.nav import NavItem
from central_server.web.routing import PageRoute
from central_server.web.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False, tags=["web"])

Reader = Annotated[Principal, Depends(PageRequires(Permission.master_read))]
NAV = [
    NavItem(
        "/admin/devices",
        N_("Thiết bị"),
        Permission.master_read,
        order=50,
        home_for=frozenset({Role.technician}),
    )
]
JS_MESSAGES = {"acknowledged": N_("Đã xác nhận cảnh báo.")}


@router.get("/admin/devices", response_class=HTMLResponse)
def devices_page(principal: Reader, request: Request, session: SessionDep) -> HTMLResponse:
    """Thiết bị / every box's health and its open alarms."""
    rows = admin_view.devices(session)
    context = {
        "tabs": admin_view.admin_tabs(principal.permissions),
        "rows": rows,
        "online": sum(1 for row in rows if row.health.online and not row.health.revoked),
        "can_acknowledge": Permission.device_operate in principal.permissions,
        "js_messages": JS_MESSAGES,
    }
    return render(request, "admin/devices.html", context, principal=principal)
