"""The audit browser for auditors: the chain's events filtered by actor, entity, action and date,
with their values; the chain is verified by the audit API (a button on the page)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from central_server.accounts import service as accounts
from central_server.accounts.dependencies import Principal, SessionDep
from central_server.accounts.permissions import Permission
from central_server.api.audit_log.endpoints import AuditQuery, list_events
from central_server.roles import Role
from central_server.web import admin_view
from central_server.web.auth import PageRequires
from central_server.web.i18n import N_
from central_server.web.nav import NavItem
from central_server.web.police_case_text import user_names
from central_server.web.routing import PageRoute
from central_server.web.templating import render
from central_server.workflow.deadlines import VN_TZ

router = APIRouter(route_class=PageRoute, include_in_schema=False, tags=["web"])

Auditor = Annotated[Principal, Depends(PageRequires(Permission.audit_read))]
NAV = [
    NavItem(
        "/admin/audit",
        N_("Nhật ký"),
        Permission.audit_read,
        order=60,
        home_for=frozenset({Role.auditor}),
    )
]
PAGE = 100
ENTITY_TYPES = (
    "violation",
    "user",
    "device",
    "site",
    "unit",
    "reason_code",
    "holiday",
    "deadline_rule",
    "monthly_report",
)
JS_MESSAGES = {
    "verifying": N_("Đang kiểm tra chuỗi nhật ký…"),
    "chain_ok": N_("Chuỗi nhật ký toàn vẹn: đã kiểm tra {n} sự kiện."),
    "chain_broken": N_("Chuỗi nhật ký bị phá vỡ tại sự kiện #{id}: {reason}"),
}
Text = Annotated[str, Query(max_length=128)]
Day = Annotated[date | None, Query()]
AfterId = Annotated[int, Query(ge=0, le=2**31 - 1)]


def _actor(session: Session, text: str) -> str | None:
    """`user:<id>` or `system:<name>` as typed, or a login name turned into `user:<id>`."""
    text = text.strip()
    if not text or ":" in text:
        return text or None
    user = accounts.find_user(session, text)
    return f"user:{user.id}" if user is not None else f"user:{text}"


def _start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, VN_TZ)


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    principal: Auditor,
    request: Request,
    session: SessionDep,
    actor: Text = "",
    entity_type: Text = "",
    entity_id: Text = "",
    action: Text = "",
    day_from: Day = None,
    day_to: Day = None,
    after_id: AfterId = 0,
) -> HTMLResponse:
    """Nhật ký hệ thống / the audit chain's events, oldest first, filtered."""
    query = AuditQuery(
        actor=_actor(session, actor),
        entity_type=entity_type.strip() or None,
        entity_id=entity_id.strip() or None,
        action=action.strip() or None,
        at_from=_start(day_from),
        at_to=_start(day_to + timedelta(days=1)) if day_to else None,
        after_id=after_id,
        limit=PAGE + 1,
    )
    events = list_events(query, principal, session)
    names = user_names(session, [e.actor for e in events])
    filters = {
        "actor": actor,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "action": action,
        "day_from": day_from.isoformat() if day_from else "",
        "day_to": day_to.isoformat() if day_to else "",
    }
    context = {
        "tabs": admin_view.admin_tabs(principal.permissions),
        "events": events[:PAGE],
        "names": names,
        "next_after": events[PAGE - 1].id if len(events) > PAGE else None,
        "filters": filters,
        "entity_types": ENTITY_TYPES,
        "pretty_json": admin_view.pretty_json,
        "js_messages": JS_MESSAGES,
    }
    return render(request, "admin/audit.html", context, principal=principal)
