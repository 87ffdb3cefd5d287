"""Retention tables: legal holds, and the record of what was purged (idempotent per entity)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from central_server.models import UtcDateTime, utcnow


class LegalHold(SQLModel, table=True):
    """A hold on a case: retention leaves it whole while `released_at` is None."""

    __tablename__ = "legal_hold"
    id: int | None = Field(default=None, primary_key=True)
    violation_id: int = Field(foreign_key="violation.id", index=True)
    reason: str = Field(max_length=500)
    placed_by: str = Field(max_length=128)
    placed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    released_by: str | None = Field(default=None, max_length=128)
    released_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class RetentionPurge(SQLModel, table=True):
    """One purged entity (a violation's media and personal fields, a quarantined packet)."""

    __tablename__ = "retention_purge"
    __table_args__ = (UniqueConstraint("entity_type", "entity_id"),)
    id: int | None = Field(default=None, primary_key=True)
    entity_type: str = Field(max_length=64)
    entity_id: str = Field(max_length=128)
    data_class: str = Field(max_length=32)
    purged_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    blobs_deleted: int = 0
