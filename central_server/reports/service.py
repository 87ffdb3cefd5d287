"""The monthly report's figures, read from the audit trail and the current state of the cases.

Event counts are of audit events timed in the period (so a case decided twice counts twice, as
the office's register does); the cohort table follows the cases detected in the period to their
current state. Everything is computed in one pass over the period's violation events joined to
their cases, which keeps a month of 100,000 cases within a minute on PostgreSQL.
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from central_server.devices.history import uptime_by_device
from central_server.models import (
    AuditEvent,
    AuditHeadSignature,
    Device,
    ServerKey,
    Site,
    Violation,
    ViolationStatus,
)
from central_server.reports.period import Period
from central_server.reports.tables import Table, build_tables
from central_server.scheduler.audit_head import verify_head_signature
from central_server.workflow.deadlines import VN_TZ
from central_server.workflow.models import PoliceRecord, PoliceRecordKind

logger = logging.getLogger(__name__)

# The audit actions counted, by the measure they feed.
MEASURES: dict[str, tuple[str, ...]] = {
    "detected": ("violation.ingested",),
    "approved": ("violation.approve",),
    "rejected": ("violation.reject",),
    "sent_to_police": ("violation.approve", "violation.reopen_approved"),
    "confirmed": ("violation.confirm",),
    "dismissed": ("violation.dismiss",),
    "notices": ("violation.notify",),
    "decisions": ("violation.penalize",),
    "paid": ("violation.pay",),
    "expired": ("violation.expire",),
}
_ACTIONS = sorted({action for actions in MEASURES.values() for action in actions})
_OPEN_STATES = (
    ViolationStatus.approved,
    ViolationStatus.verifying,
    ViolationStatus.confirmed,
    ViolationStatus.notified,
)
# A device is counted as reporting if its last heartbeat came within this of the cut-off.
ONLINE_WITHIN = timedelta(minutes=10)


@dataclass
class ReportData:
    """Every figure of one period's report, and the tables the renderers print."""

    period: Period
    generated_at: datetime
    totals: dict[str, int]
    fines_vnd: int
    by_day: dict[date, dict[str, int]]
    by_behaviour: dict[str, dict[str, int]]
    audit_head: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass
class _Acc:
    """Running tallies while the period's events stream past."""

    totals: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    by_day: dict[date, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_behaviour: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_site: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    cohort: Counter[str] = field(default_factory=Counter)
    to_review_h: list[float] = field(default_factory=list)
    to_conclusion_h: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    """One counted event with the attributes of its case."""

    at: datetime
    action: str
    behaviour: Any
    site_id: str
    status: Any
    reason_code: str | None
    detected_at: datetime
    approved_at: datetime | None


def _event_rows(session: Session, period: Period) -> Iterable[_Row]:
    # Two plain scans joined in Python: a SQL join on the text entity_id against the integer
    # id cannot use an index and turned quadratic on PostgreSQL.
    events = session.execute(
        select(col(AuditEvent.at), col(AuditEvent.action), col(AuditEvent.entity_id)).where(
            col(AuditEvent.entity_type) == "violation",
            col(AuditEvent.action).in_(_ACTIONS),
            col(AuditEvent.at) >= period.start,
            col(AuditEvent.at) < period.end,
        )
    ).all()
    ids = {int(e.entity_id) for e in events if e.entity_id.isdigit()}
    if not ids:
        return
    cases: dict[int, Any] = {}
    columns = (
        col(Violation.id),
        col(Violation.behaviour),
        col(Violation.site_id),
        col(Violation.status),
        col(Violation.reason_code),
        col(Violation.detected_at),
        col(Violation.approved_at),
    )
    statement = select(*columns).where(col(Violation.id).between(min(ids), max(ids)))
    for case in session.execute(statement.execution_options(yield_per=10_000)):
        if case.id in ids:
            cases[case.id] = case
    for event in events:
        found = cases.get(int(event.entity_id)) if event.entity_id.isdigit() else None
        if found is not None:
            yield _Row(event.at, event.action, *tuple(found)[1:])


def _hours(later: datetime, earlier: datetime | None) -> float | None:
    if earlier is None:
        return None
    return max((later - earlier).total_seconds(), 0.0) / 3600


def _tally(acc: _Acc, row: Any) -> None:
    behaviour = getattr(row.behaviour, "value", row.behaviour)
    day = row.at.astimezone(VN_TZ).date()
    for measure, actions in MEASURES.items():
        if row.action not in actions:
            continue
        acc.totals[measure] += 1
        acc.by_day[day][measure] += 1
        acc.by_behaviour[behaviour][measure] += 1
        acc.by_site[row.site_id][measure] += 1
    if row.action == "violation.ingested":
        acc.cohort[getattr(row.status, "value", row.status)] += 1
    elif row.action == "violation.reject":
        acc.reasons[row.reason_code or "-"] += 1
    if row.action in ("violation.approve", "violation.reject"):
        hours = _hours(row.at, row.detected_at)
        if hours is not None:
            acc.to_review_h.append(hours)
    elif row.action in ("violation.confirm", "violation.dismiss"):
        hours = _hours(row.at, row.approved_at)
        if hours is not None:
            acc.to_conclusion_h.append(hours)


def percentiles(values: list[float]) -> tuple[float | None, float | None]:
    """Median and 90th percentile (nearest rank), None without values."""
    if not values:
        return None, None
    ordered = sorted(values)
    rank = max(int(-(-len(ordered) * 9 // 10)) - 1, 0)
    return statistics.median(ordered), ordered[rank]


def _fines(session: Session, period: Period) -> int:
    statement = select(func.coalesce(func.sum(col(PoliceRecord.amount_vnd)), 0)).where(
        col(PoliceRecord.kind) == PoliceRecordKind.penalty_decision,
        col(PoliceRecord.recorded_at) >= period.start,
        col(PoliceRecord.recorded_at) < period.end,
    )
    return int(session.execute(statement).scalar_one())


def _overdue(session: Session) -> dict[str, int]:
    open_case = col(Violation.status).in_(_OPEN_STATES)
    counts: dict[str, int] = {}
    for name in ("overdue_notice", "overdue_escalation", "overdue_record"):
        flag = getattr(Violation, name)
        statement = select(func.count()).select_from(Violation).where(open_case, flag)
        counts[name] = int(session.execute(statement).scalar_one())
    return counts


def _devices(session: Session, period: Period, now: datetime) -> list[dict[str, Any]]:
    # Online time comes from the fleet's online intervals (heartbeats and last wills), so a box
    # that was down for a week in the middle of the month shows it.
    uptime = uptime_by_device(session, period.start, period.end, now)
    rows = []
    for device in session.execute(select(Device).order_by(col(Device.id))).scalars():
        status = device.status_json or {}
        metrics = status.get("metrics") or {}
        seen = device.last_seen_at
        rows.append(
            {
                "device_id": device.id,
                "site_id": device.site_id or "",
                "last_seen_at": seen,
                "reporting": seen is not None and period.end - seen <= ONLINE_WITHIN,
                "state": status.get("state", ""),
                "uptime_s": uptime[device.id].online_s if device.id in uptime else 0.0,
                "uptime_share": uptime[device.id].share if device.id in uptime else 0.0,
                "alarms": len(metrics.get("alarms") or [])
                + len(metrics.get("camera_problems") or []),
                "revoked": device.revoked_at is not None,
            }
        )
    return rows


def _audit_head(session: Session, period: Period) -> dict[str, Any] | None:
    """The head signed on the cut-off day (else the last one before it), checked."""
    day_end = period.end + timedelta(days=1)
    first_on_day = (
        select(AuditHeadSignature)
        .where(col(AuditHeadSignature.signed_at) >= period.end)
        .where(col(AuditHeadSignature.signed_at) < day_end)
        .order_by(col(AuditHeadSignature.signed_at))
    )
    last_before = (
        select(AuditHeadSignature)
        .where(col(AuditHeadSignature.signed_at) < period.end)
        .order_by(col(AuditHeadSignature.signed_at).desc())
    )
    row = (
        session.execute(first_on_day).scalars().first()
        or session.execute(last_before).scalars().first()
    )
    if row is None:
        return None
    key = session.get(ServerKey, row.key_id)
    return {
        "event_id": row.event_id,
        "head_hash": row.head_hash,
        "key_id": row.key_id,
        "signed_at": row.signed_at,
        "signature": row.signature.hex(),
        "on_cutoff_day": period.end <= row.signed_at < day_end,
        "verified": key is not None and verify_head_signature(row, key.public_key),
    }


def compute(session: Session, period: Period, now: datetime) -> ReportData:
    """Every figure of `period`'s report, as of `now` (current states and overdue flags)."""
    acc = _Acc()
    for row in _event_rows(session, period):
        _tally(acc, row)
    sites = {site.id: site for site in session.execute(select(Site)).scalars()}
    devices = _devices(session, period, now)
    data = ReportData(
        period=period,
        generated_at=now,
        totals={measure: acc.totals[measure] for measure in MEASURES},
        fines_vnd=_fines(session, period),
        by_day={day: dict(acc.by_day.get(day, {})) for day in period.days()},
        by_behaviour={k: dict(v) for k, v in sorted(acc.by_behaviour.items())},
        audit_head=_audit_head(session, period),
        notes=[
            "Thời gian trực tuyến của thiết bị tính từ nhịp tim và di chúc MQTT (last will) "
            "trong kỳ. / Device online time comes from heartbeats and MQTT last wills."
        ],
    )
    data.tables = build_tables(
        data,
        reasons=acc.reasons,
        by_site=acc.by_site,
        sites=sites,
        cohort=acc.cohort,
        times={
            "review": percentiles(acc.to_review_h),
            "conclusion": percentiles(acc.to_conclusion_h),
        },
        overdue=_overdue(session),
        devices=devices,
    )
    logger.info("report %s computed: %s", period.label, data.totals)
    return data
