"""Request dependencies: the database session, who is asking, and what each endpoint requires.

Every staff endpoint declares `Depends(Requires(Permission.x))` (or `Depends(PUBLIC)`); the role ×
route matrix test walks the routes and fails on one that declares neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from argon2 import PasswordHasher
from fastapi import Depends, Request
from sqlmodel import Session

from central_server.accounts import sessions, tokens
from central_server.accounts.models import User
from central_server.accounts.permissions import Permission, permissions_of
from central_server.accounts.service import actor_for, needs_totp_setup
from central_server.accounts.settings import AuthSettings
from central_server.db import session_scope
from central_server.errors import AppError
from central_server.roles import Actor

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed before the response is sent, rolled back on error."""
    with session_scope(request.app.state.engine) as session:
        yield session


# scope="function": the commit runs when the endpoint returns, before the response is sent, so a
# failed commit is an error response rather than a success that did not happen.
SessionDep = Annotated[Session, Depends(get_db_session, scope="function")]


def auth_settings(request: Request) -> AuthSettings:
    """The account settings the app was built with."""
    settings: AuthSettings = request.app.state.auth_settings
    return settings


def password_hasher(request: Request) -> PasswordHasher:
    """The app's Argon2id hasher."""
    hasher: PasswordHasher = request.app.state.password_hasher
    return hasher


def secret_key(request: Request) -> str:
    """The server secret (signs CSRF tokens, encrypts TOTP seeds)."""
    return str(request.app.state.settings.secret_key.get_secret_value())


def now(request: Request) -> datetime:
    """The current time from the app's clock (tests move it forward)."""
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user: User
    actor: Actor
    via: Literal["session", "token"]
    session_token: str | None
    totp_setup_required: bool

    @property
    def permissions(self) -> frozenset[Permission]:
        """What the caller's roles grant."""
        return permissions_of(self.actor.roles)


def _unauthenticated() -> AppError:
    return AppError(
        401,
        "not_authenticated",
        "Chưa đăng nhập hoặc phiên đã hết hạn.",
        "Not logged in, or the session has expired.",
    )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise _unauthenticated()
    return value.strip()


def _user_from_credentials(
    request: Request, session: Session, at: datetime
) -> tuple[User, Literal["session", "token"], str | None] | None:
    settings = auth_settings(request)
    bearer = _bearer(request)
    if bearer is not None:
        token_row = tokens.find_live_token(session, bearer, at)
        if token_row is None:
            raise _unauthenticated()
        user = session.get(User, token_row.user_id)
        return None if user is None else (user, "token", None)
    cookie = request.cookies.get(sessions.SESSION_COOKIE)
    if not cookie:
        return None
    row = sessions.find_live_session(session, cookie, settings, at)
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return None if user is None else (user, "session", cookie)


def authenticate_request(request: Request, session: Session) -> Principal | None:
    """Who is asking (bearer token first, then the session cookie), or None."""
    found = _user_from_credentials(request, session, now(request))
    if found is None:
        return None
    user, via, cookie = found
    if not user.is_active:
        return None
    required = auth_settings(request).require_totp_for_police
    return Principal(
        user=user,
        actor=actor_for(user),
        via=via,
        session_token=cookie,
        totp_setup_required=needs_totp_setup(user, required_for_police=required),
    )


def _check_csrf(request: Request, principal: Principal) -> None:
    if principal.via != "session" or request.method in SAFE_METHODS:
        return
    presented = request.headers.get(sessions.CSRF_HEADER)
    if not sessions.csrf_matches(secret_key(request), principal.session_token or "", presented):
        raise AppError(
            403,
            "csrf_failed",
            "Thiếu hoặc sai mã chống giả mạo yêu cầu (X-CSRF-Token).",
            "Missing or wrong CSRF token (X-CSRF-Token header).",
        )


class Requires:
    """Dependency: an authenticated caller whose roles grant `permission` (else 401 / 403)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, request: Request, session: SessionDep) -> Principal:
        """Authenticate, check CSRF for cookie writes, then check the permission."""
        principal = authenticate_request(request, session)
        if principal is None:
            raise _unauthenticated()
        _check_csrf(request, principal)
        if principal.totp_setup_required and self.permission is not Permission.self_service:
            raise AppError(
                403,
                "totp_setup_required",
                "Cần bật xác thực hai lớp (TOTP) trước khi làm việc với hồ sơ.",
                "Enrol TOTP two-factor authentication before working on cases.",
            )
        if self.permission not in principal.permissions:
            raise AppError(
                403,
                "forbidden",
                "Tài khoản không có quyền thực hiện thao tác này.",
                f"Your roles do not grant {self.permission.value}.",
                detail={"permission": self.permission.value},
            )
        return principal

    def __repr__(self) -> str:
        return f"Requires({self.permission.value})"


class PublicRoute:
    """Dependency marking a route as deliberately open to everyone (health, login, public API)."""

    def __call__(self) -> None:
        """Nothing to check."""

    def __repr__(self) -> str:
        return "PUBLIC"


PUBLIC = PublicRoute()
