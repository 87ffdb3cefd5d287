"""Making, storing and scheduling reports: exactly one scheduled report per period.

The scheduled job makes revision 1 of the latest closed period, and only when the period has no
report yet: the unique key (period, revision) stops a second scheduler that raced past the lock,
and the scheduler's run record (job, period) makes a missed run happen at the next start-up.
A rerun (the CLI or a leader) adds the next revision; earlier files are never overwritten.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func, select
from sqlmodel import Session, col

from central_server import audit
from central_server.evidence_store import EvidenceStore
from central_server.reports.models import MonthlyReport
from central_server.reports.period import Period, latest_closed_period
from central_server.reports.render_csv import render_csv
from central_server.reports.render_pdf import render_pdf
from central_server.reports.render_xlsx import render_xlsx
from central_server.reports.service import compute
from central_server.settings import env_file

logger = logging.getLogger(__name__)

SCHEDULER_ACTOR = "system:scheduler"


class ReportSettings(BaseSettings):
    """When the monthly report is made (environment prefix `TW_REPORT_`)."""

    model_config = SettingsConfigDict(
        env_prefix="TW_REPORT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    run_at: time = Field(
        default=time(0, 30),
        description="Local time (Asia/Ho_Chi_Minh) on the cut-off day when the report is made; "
        "the scheduler runs it at its first daily run at or after this time.",
    )


def existing_revisions(session: Session, label: str) -> int:
    """How many reports `label` has (0: none yet)."""
    statement = select(func.count()).where(col(MonthlyReport.period) == label)
    return int(session.execute(statement).scalar_one())


def make_report(
    session: Session, store: EvidenceStore, period: Period, *, actor: str, now: datetime
) -> MonthlyReport:
    """Compute, render and store the next revision of `period`'s report, audited; no commit."""
    data = compute(session, period, now)
    files = {"pdf": render_pdf(data), "xlsx": render_xlsx(data), "csv": render_csv(data)}
    hashes = {fmt: store.put(content) for fmt, content in files.items()}
    revision = existing_revisions(session, period.label) + 1
    totals: dict[str, Any] = dict(data.totals) | {"fines_vnd": data.fines_vnd}
    report = MonthlyReport(
        period=period.label,
        revision=revision,
        period_start=period.start,
        period_end=period.end,
        generated_at=now,
        generated_by=actor,
        pdf_sha256=hashes["pdf"],
        xlsx_sha256=hashes["xlsx"],
        csv_sha256=hashes["csv"],
        totals=totals,
    )
    session.add(report)
    session.flush()  # the unique key (period, revision) is checked here
    audit.append(
        session,
        actor=actor,
        action="report.generated" if revision == 1 else "report.regenerated",
        entity_type="monthly_report",
        entity_id=report.id or 0,
        after={"period": period.label, "revision": revision, "files": hashes, "totals": totals},
    )
    logger.info("report %s revision %d made by %s", period.label, revision, actor)
    return report


def scheduled_period(now: datetime, settings: ReportSettings | None = None) -> str:
    """The period the scheduler owes at `now` (the scheduler's run record key)."""
    run_at = (settings or ReportSettings(_env_file=env_file())).run_at
    return latest_closed_period(now, run_at).label


def run_monthly(
    session: Session, store: EvidenceStore, now: datetime, settings: ReportSettings | None = None
) -> dict[str, Any]:
    """The scheduled job: the latest closed period's report, unless it already has one."""
    period = latest_closed_period(now, (settings or ReportSettings(_env_file=env_file())).run_at)
    if existing_revisions(session, period.label) > 0:
        logger.info("report %s already made: nothing to do", period.label)
        return {"period": period.label, "made": False}
    report = make_report(session, store, period, actor=SCHEDULER_ACTOR, now=now)
    return {"period": period.label, "made": True, "report_id": report.id}


def list_reports(session: Session) -> list[MonthlyReport]:
    """Every stored report, newest period and revision first."""
    statement = select(MonthlyReport).order_by(
        col(MonthlyReport.period).desc(), col(MonthlyReport.revision).desc()
    )
    return list(session.execute(statement).scalars())
