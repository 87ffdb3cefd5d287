"""Account and session settings (environment prefix `TW_`, like the server's own settings)."""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from central_server.settings import env_file


class AuthSettings(BaseSettings):
    """Passwords, lockout, sessions, tokens and TOTP: read once by the API process."""

    model_config = SettingsConfigDict(
        env_prefix="TW_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    session_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="A session unused this long ends."
    )
    session_absolute_hours: int = Field(
        default=12, ge=1, le=24 * 30, description="A session ends this long after login."
    )
    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="`Secure` cookie flag: `auto` sets it when the request came over HTTPS "
        "(run uvicorn with --proxy-headers behind a TLS proxy).",
    )
    cookie_samesite: Literal["lax", "strict"] = Field(
        default="strict", description="SameSite attribute of the session and CSRF cookies."
    )
    lockout_threshold: int = Field(
        default=5, ge=1, le=100, description="Consecutive failed logins that lock an account."
    )
    lockout_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="How long a locked account stays locked."
    )
    throttle_window_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="Window over which failed logins are counted."
    )
    throttle_max_failures_per_ip: int = Field(
        default=30, ge=1, description="Failed logins from one address within the window."
    )
    throttle_max_failures_per_username: int = Field(
        default=10,
        ge=1,
        description="Failed logins for one user name (existing or not) within the window.",
    )
    require_totp_for_police: bool = Field(
        default=False,
        description="Police roles must enrol TOTP and give a code at every login.",
    )
    argon2_time_cost: int = Field(
        default=3, ge=1, le=20, description="Argon2id passes (RFC 9106's second choice: 3)."
    )
    argon2_memory_kib: int = Field(
        default=64 * 1024, ge=8, le=4 * 1024 * 1024, description="Argon2id memory in KiB (64 MiB)."
    )
    argon2_parallelism: int = Field(default=4, ge=1, le=16, description="Argon2id lanes.")
    api_token_days: int = Field(
        default=90, ge=1, le=3650, description="Default lifetime of a new API token."
    )

    @model_validator(mode="after")
    def _argon2_memory_covers_lanes(self) -> AuthSettings:
        """Argon2 needs at least 8 KiB of memory per lane."""
        if self.argon2_memory_kib < 8 * self.argon2_parallelism:
            raise ValueError("TW_ARGON2_MEMORY_KIB must be at least 8 × TW_ARGON2_PARALLELISM")
        return self


@functools.lru_cache(maxsize=1)
def get_auth_settings() -> AuthSettings:
    """Return the process-wide account settings (env file from `TW_ENV_FILE`, else `.env`)."""
    return AuthSettings(_env_file=env_file())
