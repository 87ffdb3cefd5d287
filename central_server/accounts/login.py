"""Logging in: throttling per address and name, lockout, password, TOTP, and the audit trail.

The outcome is returned, not raised: a failed attempt must still be committed (the counter, the
lockout and the audit row), so the endpoint commits and only then answers with the error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlmodel import Session, col, func, select

from central_server import audit
from central_server.accounts import totp
from central_server.accounts.models import LoginAttempt, User
from central_server.accounts.passwords import burn_verification, hash_password, verify_password
from central_server.accounts.service import find_user
from central_server.accounts.settings import AuthSettings
from central_server.errors import AppError

logger = logging.getLogger(__name__)

ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class LoginContext:
    """Everything a login attempt is judged with."""

    settings: AuthSettings
    hasher: PasswordHasher
    secret_key: str
    ip: str
    now: datetime


@dataclass(frozen=True)
class LoginOutcome:
    """A logged-in user, or the error to answer with (after committing the attempt)."""

    user: User | None = None
    error: AppError | None = None


def _bad_credentials() -> AppError:
    # One message for an unknown name, a wrong password and a disabled account: no enumeration.
    return AppError(
        401,
        "invalid_credentials",
        "Tên đăng nhập hoặc mật khẩu không đúng.",
        "Wrong user name or password.",
    )


def _locked(until: datetime) -> AppError:
    return AppError(
        423,
        "account_locked",
        "Tài khoản tạm khóa do đăng nhập sai nhiều lần; thử lại sau.",
        "The account is locked after repeated failed logins; try again later.",
        detail={"locked_until": until.isoformat()},
    )


def _failures_since(session: Session, since: datetime, **where: str) -> int:
    statement = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(col(LoginAttempt.at) >= since, col(LoginAttempt.success).is_(False))
    )
    for name, value in where.items():
        statement = statement.where(getattr(LoginAttempt, name) == value)
    return int(session.exec(statement).one())


def _throttled(session: Session, username: str, ctx: LoginContext) -> AppError | None:
    since = ctx.now - timedelta(minutes=ctx.settings.throttle_window_minutes)
    by_ip = _failures_since(session, since, ip=ctx.ip)
    by_name = _failures_since(session, since, username=username)
    if (
        by_ip < ctx.settings.throttle_max_failures_per_ip
        and by_name < ctx.settings.throttle_max_failures_per_username
    ):
        return None
    logger.warning("login throttled for %r from %s", username, ctx.ip)
    return AppError(
        429,
        "too_many_attempts",
        "Quá nhiều lần đăng nhập sai; vui lòng thử lại sau ít phút.",
        "Too many failed logins; please try again in a few minutes.",
        detail={"retry_after_s": ctx.settings.throttle_window_minutes * 60},
    )


def _record(
    session: Session,
    ctx: LoginContext,
    username: str,
    *,
    user: User | None,
    success: bool,
    reason: str = "",
) -> None:
    session.add(LoginAttempt(at=ctx.now, username=username, ip=ctx.ip[:64], success=success))
    actor = ANONYMOUS if user is None else f"user:{user.id}"
    audit.append(
        session,
        actor=actor,
        action="auth.login" if success else "auth.login_failed",
        entity_type="user",
        entity_id=username if user is None else (user.id or 0),
        after={"ip": ctx.ip, **({"reason": reason} if reason else {})},
    )


def _fail(session: Session, ctx: LoginContext, user: User, reason: str) -> AppError:
    """Count a failure against a known user, locking the account at the threshold."""
    user.failed_logins += 1
    locked_now = user.failed_logins >= ctx.settings.lockout_threshold
    if locked_now:
        user.locked_until = ctx.now + timedelta(minutes=ctx.settings.lockout_minutes)
        user.failed_logins = 0
    session.add(user)
    _record(session, ctx, user.username, user=user, success=False, reason=reason)
    if locked_now and user.locked_until is not None:
        audit.append(
            session,
            actor="system:accounts",
            action="user.locked",
            entity_type="user",
            entity_id=user.id or 0,
            after={"until": user.locked_until, "ip": ctx.ip},
        )
        return _locked(user.locked_until)
    if reason.startswith("totp"):
        return AppError(
            401, "totp_invalid", "Mã xác thực không đúng.", "The authentication code is wrong."
        )
    return _bad_credentials()


def _unknown_user(session: Session, username: str, ctx: LoginContext) -> LoginOutcome:
    """Answer an unknown name as a known one would be answered, lockout included."""
    burn_verification(ctx.hasher)
    since = ctx.now - timedelta(minutes=ctx.settings.lockout_minutes)
    failures = _failures_since(session, since, username=username)
    _record(session, ctx, username, user=None, success=False, reason="unknown_user")
    if failures + 1 >= ctx.settings.lockout_threshold:
        return LoginOutcome(
            error=_locked(ctx.now + timedelta(minutes=ctx.settings.lockout_minutes))
        )
    return LoginOutcome(error=_bad_credentials())


def _check_second_factor(
    session: Session, user: User, code: str | None, ctx: LoginContext
) -> AppError | None:
    if not user.totp_enabled:
        return None
    if code is None:
        # The password was right: asking for the code reveals nothing an attacker lacks.
        return AppError(
            401,
            "totp_required",
            "Nhập mã xác thực từ ứng dụng (TOTP).",
            "Enter the code from your authenticator app (TOTP).",
        )
    if not totp.accept_code(user, ctx.secret_key, code, ctx.now):
        return _fail(session, ctx, user, "totp_invalid")
    return None


def authenticate(
    session: Session, *, username: str, password: str, totp_code: str | None, ctx: LoginContext
) -> LoginOutcome:
    """Judge one login attempt, recording it (and any lockout) in the caller's transaction."""
    username = username.strip().lower()[:64]
    throttled = _throttled(session, username, ctx)
    if throttled is not None:
        return LoginOutcome(error=throttled)
    user = find_user(session, username)
    if user is None:
        return _unknown_user(session, username, ctx)
    if user.locked_until is not None and user.locked_until > ctx.now:
        _record(session, ctx, username, user=user, success=False, reason="locked")
        return LoginOutcome(error=_locked(user.locked_until))
    if not verify_password(ctx.hasher, user.password_hash, password):
        return LoginOutcome(error=_fail(session, ctx, user, "password"))
    if not user.is_active:
        _record(session, ctx, username, user=user, success=False, reason="inactive")
        return LoginOutcome(error=_bad_credentials())
    second = _check_second_factor(session, user, totp_code, ctx)
    if second is not None:
        return LoginOutcome(error=second)
    if ctx.hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(ctx.hasher, password)  # parameters were raised
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = ctx.now
    session.add(user)
    _record(session, ctx, username, user=user, success=True)
    return LoginOutcome(user=user)
