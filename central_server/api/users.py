"""Users and roles (administrators): accounts, passwords, lockouts, TOTP resets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel

from central_server.accounts import service
from central_server.accounts.dependencies import (
    Principal,
    Requires,
    SessionDep,
    now,
    password_hasher,
)
from central_server.accounts.endpoints import user_public_fields
from central_server.accounts.models import User
from central_server.accounts.permissions import ROLE_PERMISSIONS, Permission
from central_server.accounts.schemas import PasswordSet, UserCreate, UserPublic, UserUpdate
from central_server.api.common import ERROR_RESPONSES, IntId
from central_server.roles import ROLE_LABELS_VI, Role

router = APIRouter(prefix="/api/v1", tags=["users"], responses=ERROR_RESPONSES)

UserReader = Annotated[Principal, Depends(Requires(Permission.user_read))]
UserManager = Annotated[Principal, Depends(Requires(Permission.user_manage))]


class RolePublic(BaseModel):
    """A role, its Vietnamese name and what it grants."""

    role: Role
    label_vi: str
    permissions: list[Permission]


def _public(user: User) -> UserPublic:
    return UserPublic.model_validate(user_public_fields(user))


@router.get("/roles")
def list_roles(principal: UserReader) -> list[RolePublic]:
    """Vai trò / the roles and what each grants."""
    return [
        RolePublic(
            role=role,
            label_vi=ROLE_LABELS_VI[role],
            permissions=sorted(ROLE_PERMISSIONS[role], key=lambda p: p.value),
        )
        for role in Role
    ]


@router.get("/users")
def list_users(principal: UserReader, session: SessionDep) -> list[UserPublic]:
    """Tài khoản / every account."""
    return [_public(user) for user in service.list_users(session)]


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(
    body: UserCreate, principal: UserManager, request: Request, session: SessionDep
) -> UserPublic:
    """Tạo tài khoản / create an account (password checked for strength)."""
    user = service.create_user(
        session, body, actor=principal.actor, hasher=password_hasher(request)
    )
    return _public(user)


@router.get("/users/{user_id}")
def get_user(user_id: IntId, principal: UserReader, session: SessionDep) -> UserPublic:
    """Một tài khoản / one account."""
    return _public(service.get_user(session, user_id))


@router.patch("/users/{user_id}")
def update_user(
    user_id: IntId,
    body: UserUpdate,
    principal: UserManager,
    request: Request,
    session: SessionDep,
) -> UserPublic:
    """Sửa tài khoản / change roles, scopes, profile or status (disabling ends its sessions)."""
    user = service.update_user(session, user_id, body, actor=principal.actor, now=now(request))
    return _public(user)


@router.post(
    "/users/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
def set_password(
    user_id: IntId,
    body: PasswordSet,
    principal: UserManager,
    request: Request,
    session: SessionDep,
) -> None:
    """Đặt lại mật khẩu / set a new password (the user's sessions end)."""
    service.set_password(
        session,
        service.get_user(session, user_id),
        body.password,
        actor=principal.actor,
        hasher=password_hasher(request),
        now=now(request),
    )


@router.post("/users/{user_id}/unlock")
def unlock_user(user_id: IntId, principal: UserManager, session: SessionDep) -> UserPublic:
    """Mở khóa / lift a lockout."""
    return _public(service.unlock_user(session, user_id, actor=principal.actor))


@router.post("/users/{user_id}/totp/reset")
def reset_totp(user_id: IntId, principal: UserManager, session: SessionDep) -> UserPublic:
    """Đặt lại TOTP / turn a user's TOTP off (lost phone); they enrol again."""
    return _public(service.reset_totp(session, user_id, actor=principal.actor))
