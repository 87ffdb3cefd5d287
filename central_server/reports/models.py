"""The stored monthly reports: one row per (period, revision); revision 1 is the scheduled one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from central_server.models import SHA256_HEX_LEN, UtcDateTime, utcnow


class MonthlyReport(SQLModel, table=True):
    """A generated report; its files live in the evidence store by hash (never overwritten)."""

    __tablename__ = "monthly_report"
    # The unique key that makes "exactly one report per period" hold even if two schedulers race.
    __table_args__ = (UniqueConstraint("period", "revision"),)
    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=7, index=True)  # "YYYY-MM", the month of the cut-off
    revision: int = 1
    period_start: datetime = Field(sa_type=UtcDateTime)
    period_end: datetime = Field(sa_type=UtcDateTime)
    generated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    generated_by: str = Field(max_length=128)
    pdf_sha256: str = Field(max_length=SHA256_HEX_LEN)
    xlsx_sha256: str = Field(max_length=SHA256_HEX_LEN)
    csv_sha256: str = Field(max_length=SHA256_HEX_LEN)
    totals: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
