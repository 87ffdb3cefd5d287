"""`/`: each role's home (the first page the navigation names for it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from central_server.accounts.dependencies import Principal
from central_server.accounts.permissions import Permission
from central_server.web.auth import PageRequires
from central_server.web.nav import home_of
from central_server.web.routing import PageRoute
from central_server.web.templating import nav_items, render

router = APIRouter(route_class=PageRoute, include_in_schema=False, tags=["web"])

Anyone = Annotated[Principal, Depends(PageRequires(Permission.self_service))]


@router.get("/", response_class=HTMLResponse)
def home(principal: Anyone, request: Request) -> Response:
    """Trang chính / to the role's home page, or a list of the pages the user may open."""
    target = home_of(nav_items(request), principal.actor.roles, principal.permissions)
    if target is not None:
        return RedirectResponse(target, status_code=303)
    return render(request, "home.html", principal=principal)
