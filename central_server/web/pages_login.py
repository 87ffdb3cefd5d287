"""Logging in and out of the web UI, through the accounts API's own login and logout.

The form posts to `/login`; the answer comes from `accounts.endpoints.login` (throttling,
lockout, TOTP, the audit rows, the session and CSRF cookies), so nothing of it is copied here.
A successful login returns to `next` (the page that sent the user here, also after a session
expired); a failure shows the API's message in the page's language.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from central_server.accounts import endpoints as accounts_api
from central_server.accounts.dependencies import (
    PUBLIC,
    Principal,
    SessionDep,
    authenticate_request,
)
from central_server.accounts.permissions import Permission
from central_server.accounts.schemas import LoginRequest
from central_server.errors import AppError
from central_server.web.auth import FormRequires
from central_server.web.i18n import N_
from central_server.web.routing import LOGIN_PATH, PageRoute, safe_next
from central_server.web.templating import flash, render

router = APIRouter(route_class=PageRoute, include_in_schema=False, tags=["web"])

LoggedIn = Annotated[Principal, Depends(FormRequires(Permission.self_service))]
NextPath = Annotated[str, Query(max_length=2000)]
TOTP_CODES = frozenset({"totp_required", "totp_invalid"})


def _cross_site(request: Request) -> bool:
    # Login CSRF: a form on another site must not log the browser into an attacker's account.
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin == "null"
    return urlsplit(origin).netloc != request.url.netloc


def _form_error(code: str, vi: str, en: str, status: int = 422) -> AppError:
    return AppError(status, code, vi, en)


def _login_page(
    request: Request,
    next_path: str,
    *,
    username: str = "",
    error: AppError | None = None,
) -> HTMLResponse:
    ask_totp = error is not None and error.code in TOTP_CODES
    context = {"next": safe_next(next_path), "username": username, "error": error}
    status = 200 if error is None else error.status_code
    return render(request, "login.html", context | {"ask_totp": ask_totp}, status_code=status)


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(PUBLIC)])
def login_page(request: Request, session: SessionDep, next: NextPath = "/") -> Response:
    """Đăng nhập / the login form (a logged-in user goes straight on)."""
    if authenticate_request(request, session) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next)


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(PUBLIC)])
def login_submit(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    totp_code: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Log in with the API's rules; back to `next` on success, the form with the reason if not."""
    if _cross_site(request):
        error = _form_error(
            "cross_site", "Yêu cầu từ trang khác bị từ chối.", "Cross-site login refused.", 403
        )
        return _login_page(request, next, error=error)
    try:
        body = LoginRequest(
            username=username.strip(), password=password, totp_code=totp_code.strip() or None
        )
    except ValidationError:
        error = _form_error(
            "invalid_form",
            "Nhập tên đăng nhập, mật khẩu (và mã xác thực gồm 6 chữ số nếu được hỏi).",
            "Enter the user name, the password (and the 6-digit code when asked).",
        )
        return _login_page(request, next, username=username, error=error)
    cookies = Response()
    try:
        accounts_api.login(body, request, cookies, session)
    except AppError as exc:
        return _login_page(request, next, username=username, error=exc)
    response = RedirectResponse(safe_next(next), status_code=303)
    for value in cookies.headers.getlist("set-cookie"):
        response.headers.append("set-cookie", value)
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(principal: LoggedIn, request: Request, session: SessionDep) -> Response:
    """Đăng xuất / end this session (the API's logout), then the login page."""
    ended = accounts_api.logout(principal, request, session)
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    for value in ended.headers.getlist("set-cookie"):
        response.headers.append("set-cookie", value)
    flash(response, "success", N_("Đã đăng xuất."))
    return response
