"""Request and response bodies of the account endpoints (validated, with limits)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from central_server.accounts.permissions import Permission
from central_server.roles import Role

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,63}$"
Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
# Long enough for any real password; the strength rules give the precise limits and messages.
PasswordIn = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Scope = Annotated[str, StringConstraints(min_length=1, max_length=100)]
TotpCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,189}$")]


class InputModel(BaseModel):
    """Request bodies refuse unknown fields: a typo is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def _unique_roles(roles: list[Role]) -> list[Role]:
    return sorted(set(roles), key=lambda r: r.value)


class UserCreate(InputModel):
    """A new staff account."""

    username: Username = Field(description="Tên đăng nhập / login name (a-z, 0-9, . _ -).")
    full_name: str = Field(default="", max_length=200, description="Họ tên / full name.")
    email: Email | None = Field(default=None, description="Thư điện tử / e-mail.")
    password: PasswordIn = Field(description="At least 12 characters, not a common password.")
    roles: list[Role] = Field(min_length=1, max_length=len(Role), description="Vai trò / roles.")
    scopes: list[Scope] = Field(
        default_factory=list,
        max_length=200,
        description="Site ids or ward names the user is limited to; empty: everywhere.",
    )
    unit_id: int | None = Field(default=None, ge=1, description="The user's unit, if any.")

    _roles = field_validator("roles")(_unique_roles)


class UserUpdate(InputModel):
    """Changes to an account; omitted fields stay as they are."""

    full_name: str | None = Field(default=None, max_length=200)
    email: Email | None = None
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=len(Role))
    scopes: list[Scope] | None = Field(default=None, max_length=200)
    unit_id: int | None = Field(default=None, ge=1)
    is_active: bool | None = Field(default=None, description="False disables the account.")

    @field_validator("roles")
    @classmethod
    def _dedupe(cls, roles: list[Role] | None) -> list[Role] | None:
        return None if roles is None else _unique_roles(roles)


class PasswordSet(InputModel):
    """An administrator sets a new password (the user's sessions end)."""

    password: PasswordIn


class PasswordChange(InputModel):
    """A user changes their own password."""

    current_password: PasswordIn
    new_password: PasswordIn


class UserPublic(BaseModel):
    """An account as the API shows it (never a hash or a seed)."""

    id: int
    username: str
    full_name: str
    email: str | None
    roles: list[Role]
    scopes: list[str]
    unit_id: int | None
    is_active: bool
    totp_enabled: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


class Me(UserPublic):
    """The logged-in user, with what they may do."""

    permissions: list[Permission]
    totp_setup_required: bool = Field(
        description="TOTP must be enrolled before anything but one's own account is usable."
    )


class LoginRequest(InputModel):
    """User name, password and, when enrolled, the current TOTP code."""

    username: str = Field(min_length=1, max_length=64)
    password: PasswordIn
    totp_code: TotpCode | None = None


class LoginResponse(BaseModel):
    """A session was opened: the cookie is set; the CSRF token goes in `X-CSRF-Token`."""

    user: Me
    csrf_token: str
    expires_at: datetime


class TotpSetup(BaseModel):
    """A new TOTP seed to enter in an authenticator app, confirmed by a first code."""

    secret: str
    otpauth_uri: str


class TotpConfirm(InputModel):
    """The first code from the authenticator app, which turns TOTP on."""

    code: TotpCode


class TokenCreate(InputModel):
    """A new API token."""

    name: str = Field(min_length=1, max_length=100, description="What the token is for.")
    days: int | None = Field(default=None, ge=1, le=3650, description="Lifetime in days.")


class TokenPublic(BaseModel):
    """A token as listed: never the secret."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    """A token just created: `token` is shown this once."""

    token: str
