"""The police queue as the page shows it: open cases, overdue and nearly due first.

A case waits for the police from its approval to its payment; its next due date is the earliest
deadline still binding in its state (deadlines.py decides which bind: notice, escalation, record,
expiry). The order is computed in SQL, so a page of 50 out of many thousands stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, true
from sqlmodel import Session, col, select

from central_server.accounts.models import User
from central_server.models import Site, Violation
from central_server.models import ViolationStatus as S
from central_server.roles import Actor
from central_server.web.i18n import N_
from central_server.workflow.deadlines import overdue_conditions, overdue_kinds
from central_server.workflow.filters import scope_condition

# The states in which a case is the police's business, in workflow order.
POLICE_STATES: tuple[S, ...] = (S.approved, S.verifying, S.confirmed, S.notified, S.penalized)
# A deadline this close counts as "nearly due" (highlighted, sorted right after the overdue).
NEAR_DUE = timedelta(days=3)
PAGE_SIZE = 50
MAX_OFFSET = 100_000

DUE_KIND_LABELS: dict[str, str] = {
    "notice": N_("Hạn gửi thông báo"),
    "escalation": N_("Hạn cảnh báo đăng kiểm"),
    "record": N_("Hạn lập biên bản"),
    "expiry": N_("Hết thời hiệu"),
}


@dataclass(frozen=True)
class Tab:
    """One filter of the queue, with how many cases it holds."""

    key: str
    label: str  # msgid
    count: int


TAB_LABELS: dict[str, str] = {
    "open": N_("Tất cả"),
    "mine": N_("Tôi đang xác minh"),
    S.approved.value: N_("Chờ xác minh"),
    S.verifying.value: N_("Đang xác minh"),
    S.confirmed.value: N_("Chờ gửi thông báo"),
    S.notified.value: N_("Chờ quyết định xử phạt"),
    S.penalized.value: N_("Chờ nộp phạt"),
}


@dataclass(frozen=True)
class QueueRow:
    """A case in the police queue."""

    id: int
    status: S
    behaviour: str
    vehicle_class: str
    plate: str
    site_name: str
    occurred_at: datetime
    next_due_at: datetime | None
    next_due_kind: str | None
    overdue: frozenset[str]
    near_due: bool
    claimed_by: str

    @property
    def next_due_label(self) -> str:
        """The msgid naming the next deadline."""
        return DUE_KIND_LABELS.get(self.next_due_kind or "", "")


@dataclass(frozen=True)
class QueuePage:
    """The queue page's data: tabs with counts, one page of rows."""

    tab: str
    tabs: list[Tab]
    rows: list[QueueRow]
    overdue_count: int
    near_due_count: int
    offset: int
    next_offset: int | None

    @property
    def prev_offset(self) -> int | None:
        """The offset of the previous page (None on the first)."""
        return max(self.offset - PAGE_SIZE, 0) if self.offset else None


def _earlier(a: Any, b: Any) -> Any:
    """SQL: the earlier of two nullable times (NULL only when both are)."""
    return case((and_(a.is_not(None), or_(b.is_(None), a < b)), a), else_=b)


def next_due_sql() -> Any:
    """SQL: the earliest deadline still binding in the case's state (NULL: none)."""
    notice, expiry = col(Violation.notice_due_at), col(Violation.expires_at)
    record, escalation = col(Violation.record_due_at), col(Violation.escalation_due_at)
    status, escalated = col(Violation.status), col(Violation.escalated_at)
    return case(
        (status.in_([S.approved, S.verifying]), _earlier(notice, expiry)),
        (status == S.confirmed, _earlier(_earlier(notice, record), expiry)),
        (
            and_(status == S.notified, escalated.is_(None)),
            _earlier(_earlier(escalation, record), expiry),
        ),
        (status == S.notified, _earlier(record, expiry)),
        else_=None,
    )


def next_due(violation: Violation) -> tuple[datetime | None, str | None]:
    """The earliest binding deadline of a case and its kind (the Python twin of next_due_sql)."""
    status = violation.status
    candidates: list[tuple[datetime | None, str]] = []
    if status in (S.approved, S.verifying, S.confirmed):
        candidates.append((violation.notice_due_at, "notice"))
    if status is S.notified and violation.escalated_at is None:
        candidates.append((violation.escalation_due_at, "escalation"))
    if status in (S.confirmed, S.notified):
        candidates.append((violation.record_due_at, "record"))
    if status in (S.approved, S.verifying, S.confirmed, S.notified):
        candidates.append((violation.expires_at, "expiry"))
    dated = [(at, kind) for at, kind in candidates if at is not None]
    if not dated:
        return None, None
    at, kind = min(dated, key=lambda pair: pair[0])
    return at, kind


def _overdue_sql(now: datetime) -> ColumnElement[bool]:
    return or_(*overdue_conditions(now).values())


def _base(actor: Actor) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [col(Violation.status).in_(POLICE_STATES)]
    scope = scope_condition(actor)
    if scope is not None:
        conditions.append(scope)
    return conditions


def _tab_condition(tab: str, actor: Actor) -> ColumnElement[bool]:
    if tab == "mine":
        return and_(
            col(Violation.status) == S.verifying,
            col(Violation.claimed_by_user_id) == (actor.user_id or 0),
        )
    if tab in {state.value for state in POLICE_STATES}:
        return col(Violation.status) == S(tab)
    return true()


def _summary(session: Session, actor: Actor, now: datetime) -> tuple[list[Tab], int, int]:
    """The tabs with their counts, and how many cases are overdue and nearly due (one scan)."""
    due = next_due_sql()
    near = and_(due.is_not(None), due >= now, due < now + NEAR_DUE)
    statement = (
        select(
            col(Violation.status),
            func.count(),
            func.count(case((_overdue_sql(now), 1))),
            func.count(case((near, 1))),
        )
        .where(and_(*_base(actor)))
        .group_by(col(Violation.status))
    )
    rows = session.exec(statement).all()
    by_status = {S(status): int(count) for status, count, _o, _n in rows}
    mine = session.exec(
        select(func.count())
        .select_from(Violation)
        .where(and_(*_base(actor), _tab_condition("mine", actor)))
    ).one()
    tabs = [Tab("open", TAB_LABELS["open"], sum(by_status.values()))]
    tabs.append(Tab("mine", TAB_LABELS["mine"], int(mine)))
    tabs += [Tab(s.value, TAB_LABELS[s.value], by_status.get(s, 0)) for s in POLICE_STATES]
    return tabs, sum(int(o) for _s, _c, o, _n in rows), sum(int(n) for _s, _c, _o, n in rows)


def display_names(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Full names (else login names) of users, by id."""
    ids = sorted({uid for uid in user_ids if uid is not None})
    if not ids:
        return {}
    rows = session.exec(select(User).where(col(User.id).in_(ids))).all()
    return {user.id or 0: user.full_name or user.username for user in rows}


def _row(
    violation: Violation, sites: dict[str, str], names: dict[int, str], now: datetime
) -> QueueRow:
    at, kind = next_due(violation)
    overdue = overdue_kinds(violation, now)
    claimant = violation.claimed_by_user_id if violation.status is S.verifying else None
    return QueueRow(
        id=violation.id or 0,
        status=violation.status,
        behaviour=violation.behaviour.value,
        vehicle_class=violation.vehicle_class.value,
        plate=violation.plate_printed or violation.plate_text or "",
        site_name=sites.get(violation.site_id, violation.site_id),
        occurred_at=violation.occurred_at,
        next_due_at=at,
        next_due_kind=kind,
        overdue=overdue,
        near_due=not overdue and at is not None and now <= at < now + NEAR_DUE,
        claimed_by="" if claimant is None else names.get(claimant, f"#{claimant}"),
    )


def police_queue(
    session: Session, actor: Actor, now: datetime, *, tab: str = "open", offset: int = 0
) -> QueuePage:
    """One page of the police queue: overdue first, then by the next due date, oldest first."""
    tab = tab if tab in TAB_LABELS else "open"
    due = next_due_sql()
    # Sort the ids only (narrow rows), then load the page's cases.
    statement = (
        select(col(Violation.id))
        .where(and_(*_base(actor), _tab_condition(tab, actor)))
        .order_by(
            case((_overdue_sql(now), 0), else_=1),
            case((due.is_(None), 1), else_=0),
            due,
            col(Violation.occurred_at),
            col(Violation.id),
        )
        .offset(offset)
        .limit(PAGE_SIZE + 1)
    )
    found = list(session.exec(statement).all())
    ids = found[:PAGE_SIZE]
    loaded = {v.id: v for v in session.exec(select(Violation).where(col(Violation.id).in_(ids)))}
    page = [loaded[i] for i in ids]
    site_ids = sorted({v.site_id for v in page})
    sites = {
        s.id: s.name for s in session.exec(select(Site).where(col(Site.id).in_(site_ids))).all()
    }
    names = display_names(session, (v.claimed_by_user_id for v in page))
    tabs, overdue, near_due = _summary(session, actor, now)
    return QueuePage(
        tab=tab,
        tabs=tabs,
        rows=[_row(v, sites, names, now) for v in page],
        overdue_count=overdue,
        near_due_count=near_due,
        offset=offset,
        next_offset=offset + PAGE_SIZE if len(found) > PAGE_SIZE else None,
    )
