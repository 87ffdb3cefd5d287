"""Settings of the public search (environment prefix `TW_PUBLIC_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from central_server.settings import env_file


class PublicSettings(BaseSettings):
    """Rate limits, cache lifetimes and CORS origins of `/api/public/v1`."""

    model_config = SettingsConfigDict(
        env_prefix="TW_PUBLIC_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    rate_per_minute: int = Field(
        default=30, ge=1, description="Searches a client address may make per minute (no key)."
    )
    burst: int = Field(
        default=10, ge=1, description="Searches a client address may make at once (no key)."
    )
    default_key_rate_per_minute: int = Field(
        default=6000, ge=1, description="Rate of a new API key unless the CLI says otherwise."
    )
    cache_max_age_s: int = Field(
        default=60, ge=0, description="`Cache-Control: max-age` of search answers."
    )
    key_cache_ttl_s: float = Field(
        default=30, ge=0, description="How long a looked-up API key is trusted (revocation lag)."
    )
    max_tracked_clients: int = Field(
        default=100_000, ge=100, description="Client addresses the rate limiter remembers."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Origins allowed to call the API from a browser, e.g. ["https://app.hue.vn"].',
    )


def get_public_settings() -> PublicSettings:
    """Read the public search settings from the environment (and `.env`)."""
    return PublicSettings(_env_file=env_file())
