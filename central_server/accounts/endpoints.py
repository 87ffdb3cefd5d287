"""Account endpoints: log in and out, one's own account (password, TOTP, tokens), and users."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status

from central_server.accounts import service, sessions, tokens
from central_server.accounts.dependencies import (
    PUBLIC,
    Principal,
    Requires,
    SessionDep,
    auth_settings,
    now,
    password_hasher,
    secret_key,
)
from central_server.accounts.login import LoginContext, authenticate
from central_server.accounts.models import ApiToken, User
from central_server.accounts.passwords import verify_password
from central_server.accounts.permissions import Permission, permissions_of
from central_server.accounts.schemas import (
    LoginRequest,
    LoginResponse,
    Me,
    PasswordChange,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    TotpConfirm,
    TotpSetup,
)
from central_server.accounts.totp import provisioning_uri
from central_server.api.common import ERROR_RESPONSES, ErrorBody
from central_server.audit import append as audit_append
from central_server.errors import AppError
from central_server.roles import Role

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=ERROR_RESPONSES)
LOGIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    423: {"model": ErrorBody, "description": "Tài khoản tạm khóa / account locked"},
    429: {"model": ErrorBody, "description": "Quá nhiều lần sai / too many failed logins"},
}

SelfService = Annotated[Principal, Depends(Requires(Permission.self_service))]
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def user_public_fields(user: User) -> dict[str, object]:
    """The public fields of an account, for `UserPublic` and `Me`."""
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "roles": [Role(r) for r in user.roles if r in Role._value2member_map_],
        "scopes": user.scopes,
        "unit_id": user.unit_id,
        "is_active": user.is_active,
        "totp_enabled": user.totp_enabled,
        "locked_until": user.locked_until,
        "last_login_at": user.last_login_at,
        "created_at": user.created_at,
    }


def _me(user: User, totp_setup_required: bool) -> Me:
    perms = permissions_of(service.actor_for(user).roles)
    return Me.model_validate(
        user_public_fields(user)
        | {
            "permissions": sorted(perms, key=lambda p: p.value),
            "totp_setup_required": totp_setup_required,
        }
    )


def _cookie_secure(request: Request) -> bool:
    mode = auth_settings(request).cookie_secure
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def _set_session_cookies(request: Request, response: Response, token: str, csrf: str) -> None:
    settings = auth_settings(request)
    secure = _cookie_secure(request)
    max_age = settings.session_absolute_hours * 3600
    for name, value, httponly in (
        (sessions.SESSION_COOKIE, token, True),
        # Readable by the page's script, which echoes it in the X-CSRF-Token header.
        (sessions.CSRF_COOKIE, csrf, False),
    ):
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=secure,
            httponly=httponly,
            samesite=settings.cookie_samesite,
        )


@router.post("/login", dependencies=[Depends(PUBLIC)], responses=LOGIN_RESPONSES)
def login(
    body: LoginRequest, request: Request, response: Response, session: SessionDep
) -> LoginResponse:
    """Đăng nhập / log in: opens a session (HttpOnly cookie) and returns its CSRF token."""
    at = now(request)
    ip = request.client.host if request.client else ""
    ctx = LoginContext(
        auth_settings(request), password_hasher(request), secret_key(request), ip, at
    )
    outcome = authenticate(
        session, username=body.username, password=body.password, totp_code=body.totp_code, ctx=ctx
    )
    if outcome.error is not None or outcome.user is None:
        session.commit()  # the failure counts, and is audited, even though we answer an error
        raise outcome.error or AppError(500, "login_failed", "Lỗi đăng nhập.", "Login failed.")
    user = outcome.user
    opened = sessions.open_session(
        session,
        user_id=user.id or 0,
        settings=ctx.settings,
        now=at,
        ip=ip,
        user_agent=request.headers.get("user-agent", ""),
    )
    csrf = sessions.csrf_token_for(ctx.secret_key, opened.token)
    _set_session_cookies(request, response, opened.token, csrf)
    required = service.needs_totp_setup(
        user, required_for_police=ctx.settings.require_totp_for_police
    )
    return LoginResponse(
        user=_me(user, required), csrf_token=csrf, expires_at=opened.row.expires_at
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def logout(principal: SelfService, request: Request, session: SessionDep) -> Response:
    """Đăng xuất / log out: ends this session."""
    if principal.session_token is not None:
        row = sessions.find_live_session(
            session, principal.session_token, auth_settings(request), now(request)
        )
        if row is not None:
            sessions.revoke_session(session, row, now(request))
    audit_append(
        session,
        actor=principal.actor.audit_name,
        action="auth.logout",
        entity_type="user",
        entity_id=principal.user.id or 0,
    )
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(sessions.SESSION_COOKIE, path="/")
    response.delete_cookie(sessions.CSRF_COOKIE, path="/")
    return response


@router.get("/me")
def me(principal: SelfService) -> Me:
    """Tài khoản của tôi / the logged-in user and what they may do."""
    return _me(principal.user, principal.totp_setup_required)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def change_password(
    body: PasswordChange, principal: SelfService, request: Request, session: SessionDep
) -> None:
    """Đổi mật khẩu / change one's own password (every session ends; log in again)."""
    hasher = password_hasher(request)
    if not verify_password(hasher, principal.user.password_hash, body.current_password):
        raise AppError(
            422,
            "wrong_current_password",
            "Mật khẩu hiện tại không đúng.",
            "The current password is wrong.",
        )
    service.set_password(
        session,
        principal.user,
        body.new_password,
        actor=principal.actor,
        hasher=hasher,
        now=now(request),
    )


@router.post("/me/totp")
def start_totp(principal: SelfService, request: Request, session: SessionDep) -> TotpSetup:
    """Bắt đầu bật TOTP / a new TOTP seed for an authenticator app (confirm with a code)."""
    seed = service.start_totp(session, principal.user, secret_key=secret_key(request))
    return TotpSetup(secret=seed, otpauth_uri=provisioning_uri(seed, principal.user.username))


@router.post("/me/totp/confirm", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def confirm_totp(
    body: TotpConfirm, principal: SelfService, request: Request, session: SessionDep
) -> None:
    """Xác nhận TOTP / turn TOTP on with the first code from the app."""
    service.confirm_totp(
        session,
        principal.user,
        body.code,
        actor=principal.actor,
        secret_key=secret_key(request),
        now=now(request),
    )


def _token_public(row: ApiToken) -> TokenPublic:
    return TokenPublic.model_validate(row, from_attributes=True)


@router.get("/me/tokens")
def list_tokens(principal: SelfService, session: SessionDep) -> list[TokenPublic]:
    """Mã truy cập API của tôi / one's API tokens (never their secrets)."""
    return [_token_public(row) for row in tokens.list_tokens(session, principal.user.id or 0)]


@router.post("/me/tokens", status_code=status.HTTP_201_CREATED)
def create_token(
    body: TokenCreate, principal: SelfService, request: Request, session: SessionDep
) -> TokenCreated:
    """Tạo mã truy cập API / a new bearer token, shown once."""
    days = body.days or auth_settings(request).api_token_days
    created = tokens.create_token(
        session, user_id=principal.user.id or 0, name=body.name, days=days, now=now(request)
    )
    audit_append(
        session,
        actor=principal.actor.audit_name,
        action="user.token_created",
        entity_type="user",
        entity_id=principal.user.id or 0,
        after={"token_id": created.row.id, "name": body.name, "prefix": created.row.prefix},
    )
    return TokenCreated.model_validate(
        _token_public(created.row).model_dump() | {"token": created.secret}
    )


@router.delete(
    "/me/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
def revoke_token(
    token_id: TokenId, principal: SelfService, request: Request, session: SessionDep
) -> None:
    """Thu hồi mã truy cập / revoke one of one's API tokens."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != principal.user.id:
        raise AppError(404, "token_not_found", "Không tìm thấy mã.", f"No token {token_id}.")
    tokens.revoke_token(session, row, now(request))
    audit_append(
        session,
        actor=principal.actor.audit_name,
        action="user.token_revoked",
        entity_type="user",
        entity_id=principal.user.id or 0,
        after={"token_id": token_id},
    )
