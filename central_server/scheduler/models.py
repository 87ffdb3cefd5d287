"""Scheduler tables: the lock that keeps one instance running, and the record of job runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, PrimaryKeyConstraint
from sqlmodel import Field, SQLModel

from central_server.models import UtcDateTime, utcnow


class SchedulerLock(SQLModel, table=True):
    """A named lease: the holder runs the jobs while it renews `expires_at` (heartbeat)."""

    __tablename__ = "scheduler_lock"
    name: str = Field(primary_key=True, max_length=64)
    holder: str | None = Field(default=None, max_length=200)
    acquired_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class JobRun(SQLModel, table=True):
    """One run of a scheduled job for one period (a local date): idempotent per period."""

    __tablename__ = "scheduler_job_run"
    __table_args__ = (PrimaryKeyConstraint("job", "period"),)
    job: str = Field(max_length=64)
    period: str = Field(max_length=32)
    holder: str = Field(default="", max_length=200)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    ok: bool = False
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
