"""Account administration: create, change, disable, passwords, TOTP. Services never commit."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from sqlmodel import Session, col, func, select

from central_server import audit
from central_server.accounts import sessions, tokens, totp
from central_server.accounts.models import User
from central_server.accounts.passwords import (
    check_password_strength,
    hash_password,
    verify_password,
)
from central_server.accounts.schemas import UserCreate, UserUpdate
from central_server.errors import AppError
from central_server.models import Unit
from central_server.roles import POLICE_ROLES, Actor, Role

logger = logging.getLogger(__name__)


def actor_for(user: User) -> Actor:
    """The workflow and audit actor for a user."""
    return Actor(
        user_id=user.id,
        name=user.username,
        roles=frozenset(Role(r) for r in user.roles if r in Role._value2member_map_),
        scopes=frozenset(user.scopes),
    )


def needs_totp_setup(user: User, *, required_for_police: bool) -> bool:
    """Whether the user must enrol TOTP before doing anything but manage their own account."""
    police = any(role.value in user.roles for role in POLICE_ROLES)
    return required_for_police and police and not user.totp_enabled


def audit_view(user: User) -> dict[str, Any]:
    """What the audit trail records about an account (never secrets)."""
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "roles": sorted(user.roles),
        "scopes": sorted(user.scopes),
        "unit_id": user.unit_id,
        "is_active": user.is_active,
        "totp_enabled": user.totp_enabled,
    }


def get_user(session: Session, user_id: int) -> User:
    """The user with this id; AppError 404 if there is none."""
    user = session.get(User, user_id)
    if user is None:
        raise AppError(
            404, "user_not_found", "Không tìm thấy tài khoản.", f"No user with id {user_id}."
        )
    return user


def find_user(session: Session, username: str) -> User | None:
    """The user with this login name (case-insensitive), or None."""
    statement = select(User).where(col(User.username) == username.strip().lower())
    user: User | None = session.exec(statement).first()
    return user


def list_users(session: Session) -> list[User]:
    """Every account, by login name."""
    return list(session.exec(select(User).order_by(col(User.username))).all())


def _check_unit(session: Session, unit_id: int | None) -> None:
    if unit_id is not None and session.get(Unit, unit_id) is None:
        raise AppError(
            422, "unit_not_found", "Đơn vị không tồn tại.", f"No unit with id {unit_id}."
        )


def create_user(
    session: Session, data: UserCreate, *, actor: Actor, hasher: PasswordHasher
) -> User:
    """Create an account after checking the name is free and the password strong."""
    if find_user(session, data.username) is not None:
        raise AppError(
            409,
            "username_taken",
            "Tên đăng nhập đã được dùng.",
            f"The user name {data.username!r} is taken.",
        )
    check_password_strength(data.password, username=data.username, full_name=data.full_name)
    _check_unit(session, data.unit_id)
    user = User(
        username=data.username,
        full_name=data.full_name,
        email=data.email,
        password_hash=hash_password(hasher, data.password),
        roles=[role.value for role in data.roles],
        scopes=sorted(set(data.scopes)),
        unit_id=data.unit_id,
        created_by=actor.audit_name,
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor.audit_name,
        action="user.created",
        entity_type="user",
        entity_id=user.id or 0,
        after=audit_view(user),
    )
    logger.info("user %s created by %s", user.username, actor.audit_name)
    return user


def _active_admins(session: Session) -> list[User]:
    users = session.exec(select(User).where(col(User.is_active).is_(True))).all()
    return [u for u in users if Role.admin.value in u.roles]


def _keep_an_admin(session: Session, user: User, data: UserUpdate) -> None:
    loses_admin = (data.roles is not None and Role.admin not in data.roles) or (
        data.is_active is False
    )
    if not (loses_admin and Role.admin.value in user.roles and user.is_active):
        return
    if len(_active_admins(session)) <= 1:
        raise AppError(
            409,
            "last_admin",
            "Không thể bỏ quyền hoặc khóa quản trị viên cuối cùng.",
            "The last active administrator cannot lose the role or be disabled.",
        )


def update_user(
    session: Session, user_id: int, data: UserUpdate, *, actor: Actor, now: datetime
) -> User:
    """Change an account's profile, roles, scopes or status (disabling ends its sessions)."""
    user = get_user(session, user_id)
    _keep_an_admin(session, user, data)
    _check_unit(session, data.unit_id)
    before = audit_view(user)
    changes = data.model_dump(exclude_unset=True)
    if "roles" in changes and data.roles is not None:
        changes["roles"] = [role.value for role in data.roles]
    if "scopes" in changes and data.scopes is not None:
        changes["scopes"] = sorted(set(data.scopes))
    for name, value in changes.items():
        if name in ("roles", "is_active") and value is None:
            continue  # required columns: an explicit null means "unchanged"
        setattr(user, name, value)
    session.add(user)
    if data.is_active is False:
        sessions.revoke_user_sessions(session, user_id, now)
        tokens.revoke_user_tokens(session, user_id, now)
    session.flush()
    audit.append(
        session,
        actor=actor.audit_name,
        action="user.updated",
        entity_type="user",
        entity_id=user_id,
        before=before,
        after=audit_view(user),
    )
    return user


def set_password(
    session: Session,
    user: User,
    password: str,
    *,
    actor: Actor,
    hasher: PasswordHasher,
    now: datetime,
) -> None:
    """Set a new password (strength checked); every session of the user ends."""
    check_password_strength(password, username=user.username, full_name=user.full_name)
    if verify_password(hasher, user.password_hash, password):
        raise AppError(
            422,
            "password_unchanged",
            "Mật khẩu mới phải khác mật khẩu cũ.",
            "The new password must differ from the current one.",
        )
    user.password_hash = hash_password(hasher, password)
    user.password_changed_at = now
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    sessions.revoke_user_sessions(session, user.id or 0, now)
    audit.append(
        session,
        actor=actor.audit_name,
        action="user.password_set",
        entity_type="user",
        entity_id=user.id or 0,
    )


def unlock_user(session: Session, user_id: int, *, actor: Actor) -> User:
    """Lift a lockout before it expires."""
    user = get_user(session, user_id)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    audit.append(
        session,
        actor=actor.audit_name,
        action="user.unlocked",
        entity_type="user",
        entity_id=user_id,
    )
    return user


def start_totp(session: Session, user: User, *, secret_key: str) -> str:
    """Give a user a new (not yet enabled) TOTP seed and return it."""
    if user.totp_enabled:
        raise AppError(
            409,
            "totp_already_enabled",
            "Xác thực hai lớp đã bật; nhờ quản trị viên đặt lại nếu mất thiết bị.",
            "TOTP is already enabled; ask an administrator to reset it if the device is lost.",
        )
    seed = totp.new_totp_secret()
    user.totp_secret_enc = totp.encrypt_secret(secret_key, seed)
    user.totp_last_step = None
    session.add(user)
    return seed


def confirm_totp(
    session: Session, user: User, code: str, *, actor: Actor, secret_key: str, now: datetime
) -> None:
    """Turn TOTP on once the user proves their app produces the right codes."""
    if user.totp_enabled or user.totp_secret_enc is None:
        raise AppError(
            409,
            "totp_not_pending",
            "Chưa tạo mã bí mật TOTP hoặc TOTP đã bật.",
            "No TOTP seed is waiting for confirmation.",
        )
    if not totp.accept_code(user, secret_key, code, now):
        raise AppError(
            422, "totp_invalid", "Mã xác thực không đúng.", "The authentication code is wrong."
        )
    user.totp_enabled = True
    session.add(user)
    audit.append(
        session,
        actor=actor.audit_name,
        action="user.totp_enabled",
        entity_type="user",
        entity_id=user.id or 0,
    )


def reset_totp(session: Session, user_id: int, *, actor: Actor) -> User:
    """Turn a user's TOTP off (a lost phone); they enrol again at next login."""
    user = get_user(session, user_id)
    user.totp_enabled = False
    user.totp_secret_enc = None
    user.totp_last_step = None
    session.add(user)
    audit.append(
        session,
        actor=actor.audit_name,
        action="user.totp_reset",
        entity_type="user",
        entity_id=user_id,
    )
    return user


def count_users(session: Session) -> int:
    """How many accounts exist."""
    return int(session.exec(select(func.count()).select_from(User)).one())
