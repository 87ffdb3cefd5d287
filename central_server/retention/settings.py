"""How long each class of data is kept (environment prefix `TW_RETENTION_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RetentionSettings(BaseSettings):
    """Retention periods in days, per class of data."""

    model_config = SettingsConfigDict(
        env_prefix="TW_RETENTION_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    rejected_days: int = Field(
        default=90, ge=1, description="Rejected candidates and their media, after rejection."
    )
    case_days: int = Field(
        default=365,
        ge=1,
        description="Cases in a terminal state (dismissed, paid, closed, expired), counted from "
        "capture: evidence serves one year (the limitation period), then goes with the case file.",
    )
    terminal_days: int = Field(
        default=30, ge=0, description="And at least this long after the case reached that state."
    )
    quarantine_days: int = Field(
        default=90, ge=1, description="Quarantined packets' bytes, after receipt."
    )
    audit_detail_days: int = Field(
        default=5 * 365,
        ge=1,
        description="Before/after values of audit events; the chain of hashes is kept forever.",
    )
