"""The leaders' dashboard: figures only (never faces, plates or media), within the user's scope.

Today and this month are local days in Vietnam; a case counts in the period it was detected in,
by the state it is in now. Overdue follows the deadlines' own SQL conditions at the moment asked;
rejection and dismissal reasons are shown by their names; devices are online as the fleet-health
tables say (`devices.fleet_service`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from sqlalchemy import ColumnElement, and_, case, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from central_server.devices import fleet_service
from central_server.models import Site, Violation
from central_server.models import ViolationStatus as S
from central_server.reports.jobs import list_reports
from central_server.reports.models import MonthlyReport
from central_server.roles import Actor
from central_server.workflow.deadlines import VN_TZ, local_date, overdue_conditions, overdue_kinds
from central_server.workflow.filters import scope_condition
from central_server.workflow.models import ReasonCode
from protocol.enums import BehaviourCode

OVERDUE_LIST = 10


@dataclass(frozen=True)
class PeriodCounts:
    """A row of figures: today and this month."""

    key: str
    today: int
    month: int


@dataclass(frozen=True)
class ReasonCount:
    """How many cases a reason closed this month."""

    code: str
    label_vi: str
    label_en: str
    purpose: str  # "reject" | "dismiss"
    count: int


@dataclass(frozen=True)
class OverdueCase:
    """An overdue case as a figure: no plate, no media."""

    id: int
    status: S
    behaviour: str
    site_name: str
    kinds: tuple[str, ...]
    due_at: datetime | None


@dataclass(frozen=True)
class DeviceLine:
    """A box that is not reporting."""

    id: str
    site_name: str
    last_seen_at: datetime | None


@dataclass
class Dashboard:
    """Everything the dashboard shows."""

    today: date
    month_start: date
    by_status: list[PeriodCounts]
    by_behaviour: list[PeriodCounts]
    totals: PeriodCounts
    overdue_by_kind: dict[str, int]
    overdue_total: int
    overdue_cases: list[OverdueCase]
    reasons: list[ReasonCount]
    devices_total: int
    devices_online: int
    devices_offline: list[DeviceLine]
    reports: list[MonthlyReport] = field(default_factory=list)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, VN_TZ).astimezone(timezone.utc)


def _scoped(actor: Actor, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    scope = scope_condition(actor)
    return and_(*conditions, *(() if scope is None else (scope,)))


def _period_counts(
    session: Session, actor: Actor, today_start: datetime, month_start: datetime
) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    is_today = case((col(Violation.occurred_at) >= today_start, 1), else_=0)
    statement = (
        select(col(Violation.status), col(Violation.behaviour), is_today, func.count())
        .where(_scoped(actor, col(Violation.occurred_at) >= month_start))
        .group_by(col(Violation.status), col(Violation.behaviour), is_today)
    )
    month: Counter[tuple[str, str]] = Counter()
    today: Counter[tuple[str, str]] = Counter()
    for status, behaviour, in_today, count in session.exec(statement).all():
        key = (S(status).value, BehaviourCode(behaviour).value)
        month[key] += int(count)
        if in_today:
            today[key] += int(count)
    return today, month


def _rows(keys: list[str], today: Counter[str], month: Counter[str]) -> list[PeriodCounts]:
    return [PeriodCounts(k, today[k], month[k]) for k in keys if month[k] or today[k]]


def _overdue(session: Session, actor: Actor, now: datetime) -> tuple[dict[str, int], int]:
    conditions = overdue_conditions(now)
    counts = [func.count(case((cond, 1))) for cond in conditions.values()]
    statement = (
        sa_select(*counts, func.count())
        .select_from(Violation)
        .where(_scoped(actor, or_(*conditions.values())))
    )
    *by_kind, total = session.execute(statement).one()
    names = [name.removeprefix("overdue_") for name in conditions]
    return dict(zip(names, (int(n) for n in by_kind), strict=True)), int(total)


def _overdue_cases(session: Session, actor: Actor, now: datetime) -> list[OverdueCase]:
    # Sort the ids only (narrow rows), then load the few cases shown.
    statement = (
        select(col(Violation.id))
        .where(_scoped(actor, or_(*overdue_conditions(now).values())))
        .order_by(col(Violation.notice_due_at), col(Violation.id))
        .limit(OVERDUE_LIST)
    )
    ids = list(session.exec(statement).all())
    rows = session.exec(
        select(Violation, Site.name)
        .join(Site, col(Site.id) == col(Violation.site_id), isouter=True)
        .where(col(Violation.id).in_(ids))
    ).all()
    loaded = {violation.id: (violation, site_name) for violation, site_name in rows}
    found = []
    for case_id in ids:
        violation, site_name = loaded[case_id]
        kinds = tuple(sorted(overdue_kinds(violation, now)))
        dues = {
            "notice": violation.notice_due_at,
            "escalation": violation.escalation_due_at,
            "record": violation.record_due_at,
        }
        found.append(
            OverdueCase(
                id=violation.id or 0,
                status=violation.status,
                behaviour=violation.behaviour.value,
                site_name=site_name or violation.site_id,
                kinds=kinds,
                due_at=min((dues[k] for k in kinds if dues[k] is not None), default=None),
            )
        )
    return found


def _reasons(session: Session, actor: Actor, month_start: datetime) -> list[ReasonCount]:
    statement = (
        select(col(Violation.status), col(Violation.reason_code), func.count())
        .where(
            _scoped(
                actor,
                col(Violation.occurred_at) >= month_start,
                col(Violation.status).in_([S.rejected, S.dismissed]),
                col(Violation.reason_code).is_not(None),
            )
        )
        .group_by(col(Violation.status), col(Violation.reason_code))
    )
    labels = {r.code: r for r in session.exec(select(ReasonCode)).all()}
    found = []
    for status, code, count in session.exec(statement).all():
        reason = labels.get(code)
        purpose = "reject" if S(status) is S.rejected else "dismiss"
        label_vi = reason.label_vi if reason else code
        label_en = reason.label_en if reason else code
        found.append(ReasonCount(code, label_vi, label_en, purpose, int(count)))
    return sorted(found, key=lambda r: (r.purpose != "reject", -r.count, r.code))


def _devices(session: Session) -> tuple[int, int, list[DeviceLine]]:
    sites = {site.id: site.name for site in session.exec(select(Site)).all()}
    boxes = [row for row in fleet_service.list_health(session) if not row.revoked]
    offline = [
        DeviceLine(row.device_id, sites.get(row.site_id or "", row.site_id or ""), row.last_seen_at)
        for row in boxes
        if not row.online
    ]
    return len(boxes), len(boxes) - len(offline), offline


def dashboard(session: Session, actor: Actor, now: datetime, *, with_reports: bool) -> Dashboard:
    """The dashboard's figures at `now`, within the actor's scope."""
    today = local_date(now)
    month_first = today.replace(day=1)
    today_counts, month_counts = _period_counts(
        session, actor, _start_of(today), _start_of(month_first)
    )
    by_status_t: Counter[str] = Counter()
    by_status_m: Counter[str] = Counter()
    by_beh_t: Counter[str] = Counter()
    by_beh_m: Counter[str] = Counter()
    for (status, behaviour), n in month_counts.items():
        by_status_m[status] += n
        by_beh_m[behaviour] += n
    for (status, behaviour), n in today_counts.items():
        by_status_t[status] += n
        by_beh_t[behaviour] += n
    overdue, overdue_total = _overdue(session, actor, now)
    total, online, offline = _devices(session)
    return Dashboard(
        today=today,
        month_start=month_first,
        by_status=_rows([s.value for s in S], by_status_t, by_status_m),
        by_behaviour=_rows([b.value for b in BehaviourCode], by_beh_t, by_beh_m),
        totals=PeriodCounts("total", sum(by_status_t.values()), sum(by_status_m.values())),
        overdue_by_kind=overdue,
        overdue_total=overdue_total,
        overdue_cases=_overdue_cases(session, actor, now),
        reasons=_reasons(session, actor, _start_of(month_first)),
        devices_total=total,
        devices_online=online,
        devices_offline=offline,
        reports=list_reports(session)[:12] if with_reports else [],
    )
