"""Account tables: users with roles and scopes, sessions, API tokens and login attempts.

Secrets are never stored in the clear: passwords as Argon2id hashes, session ids and API tokens as
their SHA-256, TOTP seeds encrypted with a key derived from the server's secret key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Text
from sqlmodel import Field, SQLModel

from central_server.models import SHA256_HEX_LEN, UtcDateTime, utcnow

USERNAME_MAX = 64


class User(SQLModel, table=True):
    """A staff account: a set of roles and optional scopes (site ids, wards; empty: everywhere)."""

    __tablename__ = "user"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=USERNAME_MAX, unique=True)
    full_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=254)
    password_hash: str = Field(sa_type=Text)
    roles: list[str] = Field(default_factory=list, sa_type=JSON)
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    is_active: bool = True
    totp_secret_enc: str | None = Field(default=None, max_length=255)
    totp_enabled: bool = False
    # The last TOTP time step accepted: a code is never accepted twice.
    totp_last_step: int | None = None
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    password_changed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    created_by: str = Field(default="", max_length=128)


class UserSession(SQLModel, table=True):
    """A browser session; the cookie holds a random token, the row its SHA-256."""

    __tablename__ = "user_session"
    id: str = Field(primary_key=True, max_length=SHA256_HEX_LEN)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=255)


class ApiToken(SQLModel, table=True):
    """A bearer token for the API; only its SHA-256 is kept, with a short prefix to recognise it."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=100)
    token_sha256: str = Field(max_length=SHA256_HEX_LEN, unique=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class LoginAttempt(SQLModel, table=True):
    """One login attempt, for throttling by user name and by address (kept for a while)."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    username: str = Field(max_length=USERNAME_MAX)
    ip: str = Field(default="", max_length=64)
    success: bool = False
