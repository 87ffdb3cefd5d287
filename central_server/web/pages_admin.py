"""Administration of accounts, and one's own account (password, TOTP enrolment with a QR code).

The pages read; creating, changing, disabling, resetting and unlocking accounts is the browser
calling the users API (`static/admin.js`), which checks `user.manage`, the password rules and the
last administrator, and audits every change. Enrolling TOTP is a form post here, so the seed's QR
code is drawn on the server; the first code confirms it through the accounts API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from central_server.accounts import service as accounts
from central_server.accounts.dependencies import Principal, SessionDep, now, secret_key
from central_server.accounts.permissions import Permission
from central_server.accounts.totp import provisioning_uri
from central_server.api.common import IntId
from central_server.roles import Role
from central_server.web import admin_view
from central_server.web.auth import FormRequires, PageRequires
from central_server.web.i18n import N_
from central_server.web.nav import NavItem
from central_server.web.routing import PageRoute
from central_server.web.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False, tags=["web"])

UserManager = Annotated[Principal, Depends(PageRequires(Permission.user_manage))]
Anyone = Annotated[Principal, Depends(PageRequires(Permission.self_service))]
AnyoneForm = Annotated[Principal, Depends(FormRequires(Permission.self_service))]
NAV = [
    NavItem(
        "/admin/users",
        N_("Quản trị"),
        Permission.user_manage,
        order=40,
        home_for=frozenset({Role.admin}),
    ),
    NavItem("/account", N_("Tài khoản của tôi"), Permission.self_service, order=90),
]
JS_MESSAGES = {
    "user_created": N_("Đã tạo tài khoản."),
    "password_set": N_("Đã đặt mật khẩu mới; các phiên của người dùng đã kết thúc."),
    "unlocked": N_("Đã mở khóa."),
    "totp_reset": N_("Đã đặt lại TOTP; người dùng sẽ đăng ký lại."),
    "totp_enabled": N_("Đã bật xác thực hai lớp."),
    "password_changed": N_("Đã đổi mật khẩu; hãy đăng nhập lại."),
    "confirm_disable": N_("Khóa tài khoản này? Mọi phiên đăng nhập của người dùng sẽ kết thúc."),
}


def _admin_context(principal: Principal) -> dict[str, object]:
    return {
        "tabs": admin_view.admin_tabs(principal.permissions),
        "all_roles": list(Role),
        "js_messages": JS_MESSAGES,
    }


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(principal: UserManager, request: Request, session: SessionDep) -> HTMLResponse:
    """Tài khoản / every account, and a form for a new one."""
    sites, wards = admin_view.scope_choices(session)
    context = _admin_context(principal) | {
        "rows": admin_view.user_rows(session, now(request)),
        "units": admin_view.units(session),
        "sites": sites,
        "wards": wards,
    }
    return render(request, "admin/users.html", context, principal=principal)


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def user_page(
    user_id: IntId, principal: UserManager, request: Request, session: SessionDep
) -> HTMLResponse:
    """Một tài khoản / change roles, scopes, unit, status; password, unlock, TOTP reset."""
    sites, wards = admin_view.scope_choices(session)
    context = _admin_context(principal) | {
        "row": admin_view.user_row(session, user_id, now(request)),
        "units": admin_view.units(session),
        "sites": sites,
        "wards": wards,
    }
    return render(request, "admin/user.html", context, principal=principal)


@router.get("/account", response_class=HTMLResponse)
def account_page(principal: Anyone, request: Request) -> HTMLResponse:
    """Tài khoản của tôi / one's roles, password and two-factor authentication."""
    context = {
        "me": principal.user,
        "js_messages": JS_MESSAGES,
        "enrolment": None,
        "totp_required": principal.totp_setup_required,
    }
    return render(request, "admin/account.html", context, principal=principal)


@router.post("/account/totp", response_class=HTMLResponse)
def start_totp(principal: AnyoneForm, request: Request, session: SessionDep) -> HTMLResponse:
    """Bật TOTP / a new seed, shown once as a QR code and as text, confirmed by a first code."""
    seed = accounts.start_totp(session, principal.user, secret_key=secret_key(request))
    uri = provisioning_uri(seed, principal.user.username)
    enrolment = {
        "secret": seed,
        "uri": uri,
        "qr": admin_view.qr_svg(uri, "QR TOTP"),
    }
    context = {
        "me": principal.user,
        "js_messages": JS_MESSAGES,
        "enrolment": enrolment,
        "totp_required": principal.totp_setup_required,
    }
    return render(request, "admin/account.html", context, principal=principal)
