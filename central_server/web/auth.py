"""The page dependency: who is looking at the page, and may they.

`PageRequires(Permission.x)` guards a GET page, `FormRequires(Permission.x)` a page that takes a
form post (the CSRF token comes in the `csrf_token` field, or the `X-CSRF-Token` header). Both
are `Requires` for the route × role matrix. Not logged in, or the session expired: AppError 401,
which a `PageRoute` turns into a redirect to `/login?next=<page>`; a role without the permission:
AppError 403, the 403 page. The viewer is also left on `request.state.viewer` so error pages
still show the header.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from sqlmodel import Session

from central_server.accounts import sessions
from central_server.accounts.dependencies import (
    SAFE_METHODS,
    Principal,
    Requires,
    SessionDep,
    authenticate_request,
    secret_key,
)
from central_server.accounts.permissions import Permission
from central_server.errors import AppError
from central_server.web.templating import Viewer


def _not_logged_in() -> AppError:
    return AppError(
        401,
        "not_authenticated",
        "Chưa đăng nhập hoặc phiên đã hết hạn.",
        "Not logged in, or the session has expired.",
    )


def _check_csrf(request: Request, principal: Principal, form_token: str | None) -> None:
    if principal.via != "session" or request.method in SAFE_METHODS:
        return
    presented = request.headers.get(sessions.CSRF_HEADER) or form_token
    if not sessions.csrf_matches(secret_key(request), principal.session_token or "", presented):
        raise AppError(
            403,
            "csrf_failed",
            "Phiên làm việc của biểu mẫu không hợp lệ; hãy tải lại trang và thử lại.",
            "The form's session token is missing or wrong; reload the page and try again.",
        )


def authorise(
    request: Request, session: Session, permission: Permission, form_token: str | None = None
) -> Principal:
    """The logged-in caller holding `permission` (AppError 401 / 403 otherwise)."""
    principal = authenticate_request(request, session)
    if principal is None:
        raise _not_logged_in()
    request.state.viewer = Viewer.of(principal)  # error pages still show the header
    _check_csrf(request, principal, form_token)
    if principal.totp_setup_required and permission is not Permission.self_service:
        raise AppError(
            403,
            "totp_setup_required",
            "Cần bật xác thực hai lớp (TOTP) trước khi làm việc với hồ sơ.",
            "Enrol TOTP two-factor authentication before working on cases.",
        )
    if permission not in principal.permissions:
        raise AppError(
            403,
            "forbidden",
            "Tài khoản không có quyền mở trang này.",
            f"Your roles do not grant {permission.value}.",
            detail={"permission": permission.value},
        )
    return principal


class PageRequires(Requires):
    """Dependency of a page (GET): the logged-in user holding the permission."""

    def __call__(self, request: Request, session: SessionDep) -> Principal:
        """Authenticate and check the permission (401 → login redirect, 403 → 403 page)."""
        return authorise(request, session, self.permission)


class FormRequires(Requires):
    """Dependency of a form post: as `PageRequires`, plus the form's CSRF token."""

    def __call__(
        self,
        request: Request,
        session: SessionDep,
        csrf_token: Annotated[str, Form(max_length=128)] = "",
    ) -> Principal:
        """Authenticate, check the CSRF token (field or header), then the permission."""
        return authorise(request, session, self.permission, csrf_token or None)
