"""What the operator's pages show: the queue's filters and rows, and one case as the reviewer sees
it (stills, clip, plate, signed facts, claim, reasons, neighbours in the queue).

Reads only: claims and decisions go through the workflow services and the staff API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlmodel import Session, col, select

from central_server.accounts.models import User
from central_server.api.violations import service as cases
from central_server.api.violations.presenters import MEDIA_URL
from central_server.models import EvidencePart, Site, Violation, ViolationStatus
from central_server.roles import Actor
from central_server.web.formatting import LOCAL_TZ
from central_server.workflow.filters import QueueFilters, filter_conditions, scope_condition
from central_server.workflow.models import ReasonCode, ReviewClaim
from central_server.workflow.reasons import REJECT, list_reasons
from central_server.workflow.service import review_queue
from protocol.enums import BehaviourCode

QUEUE_PAGE = 50
WAITING_CAP = 5000
MAX_REASON_KEYS = 9  # the keys 1..9


def _behaviour(value: str) -> BehaviourCode | None:
    try:
        return BehaviourCode(value)
    except ValueError:
        return None


def _day(value: str) -> date | None:
    """A day typed as dd/mm/yyyy (the way dates are shown) or yyyy-mm-dd."""
    value = value.strip()
    try:
        if "/" in value:
            return datetime.strptime(value, "%d/%m/%Y").date()
        return date.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class QueueForm:
    """The queue's filters as the page's form sends them (unknown values are ignored)."""

    site: str = ""
    ward: str = ""
    behaviour: BehaviourCode | None = None
    day: date | None = None
    offset: int = 0

    @classmethod
    def parse(cls, site: str, ward: str, behaviour: str, day: str, offset: int) -> QueueForm:
        """From the raw query values."""
        return cls(site.strip(), ward.strip(), _behaviour(behaviour), _day(day), max(offset, 0))

    def _period(self) -> tuple[datetime | None, datetime | None]:
        if self.day is None:
            return None, None
        start = datetime.combine(self.day, time(0), LOCAL_TZ)
        return start, start + timedelta(days=1)

    def filters(self) -> QueueFilters:
        """As the workflow's queue filters (the day is a day in Vietnam)."""
        start, end = self._period()
        return QueueFilters(
            site_ids=frozenset({self.site}) if self.site else frozenset(),
            wards=frozenset({self.ward}) if self.ward else frozenset(),
            behaviours=frozenset({self.behaviour}) if self.behaviour else frozenset(),
            occurred_from=start,
            occurred_to=end,
        )

    def page_query(self) -> str:
        """The filters as the queue page's query string (no offset)."""
        pairs = {
            "site": self.site,
            "ward": self.ward,
            "behaviour": self.behaviour.value if self.behaviour else "",
            "day": self.day.strftime("%d/%m/%Y") if self.day else "",
        }
        return urlencode({k: v for k, v in pairs.items() if v})

    def api_query(self) -> str:
        """The filters as `POST /api/v1/review/next` takes them."""
        start, end = self._period()
        pairs: list[tuple[str, str]] = []
        if self.site:
            pairs.append(("site_id", self.site))
        if self.ward:
            pairs.append(("ward", self.ward))
        if self.behaviour:
            pairs.append(("behaviour", self.behaviour.value))
        if start and end:
            pairs += [("occurred_from", start.isoformat()), ("occurred_to", end.isoformat())]
        return urlencode(pairs)


def _pending(actor: Actor, filters: QueueFilters) -> list[ColumnElement[bool]]:
    conditions = [col(Violation.status) == ViolationStatus.pending_review]
    scope = scope_condition(actor)
    if scope is not None:
        conditions.append(scope)
    return conditions + filter_conditions(filters)


def count_waiting(session: Session, actor: Actor, filters: QueueFilters) -> tuple[int, bool]:
    """How many cases within the actor's scope and the filters wait for review, counted up to
    WAITING_CAP (and whether there are more): a count costs a row read per case, and a backlog
    of tens of thousands needs no exact figure on every page."""
    capped = select(col(Violation.id)).where(*_pending(actor, filters)).limit(WAITING_CAP + 1)
    found = int(session.exec(select(func.count()).select_from(capped.subquery())).one())
    return min(found, WAITING_CAP), found > WAITING_CAP


def sites(session: Session) -> list[Site]:
    """Every site, by name (the filter's choices and the places shown)."""
    return list(session.exec(select(Site).order_by(col(Site.name), col(Site.id))).all())


@dataclass
class QueueView:
    """The queue page's content."""

    rows: list[Violation]
    waiting: int
    waiting_more: bool  # more than `waiting` (the count stops at WAITING_CAP)
    sites: list[Site]
    wards: list[str]
    site_names: dict[str, str]
    next_offset: int | None


def queue_view(session: Session, actor: Actor, form: QueueForm, now: datetime) -> QueueView:
    """A page of the queue, oldest first, with the count and the filter choices."""
    filters = form.filters()
    rows = review_queue(
        session, actor=actor, filters=filters, limit=QUEUE_PAGE + 1, offset=form.offset, now=now
    )
    all_sites = sites(session)
    more = len(rows) > QUEUE_PAGE
    waiting, waiting_more = count_waiting(session, actor, filters)
    return QueueView(
        rows=rows[:QUEUE_PAGE],
        waiting=waiting,
        waiting_more=waiting_more,
        sites=all_sites,
        wards=sorted({s.ward for s in all_sites if s.ward}),
        site_names={s.id: s.name for s in all_sites},
        next_offset=form.offset + QUEUE_PAGE if more else None,
    )


def _neighbour(
    session: Session,
    actor: Actor,
    violation: Violation,
    filters: QueueFilters,
    now: datetime,
    *,
    after: bool,
) -> int | None:
    held_by_other = exists().where(
        col(ReviewClaim.violation_id) == col(Violation.id),
        col(ReviewClaim.expires_at) > now,
        col(ReviewClaim.user_id) != (actor.user_id or -1),
    )
    at, vid, here = col(Violation.occurred_at), col(Violation.id), violation.occurred_at
    # The bound on occurred_at alone lets the (status, occurred_at) index do the work.
    if after:
        beyond = and_(at >= here, or_(at > here, vid > violation.id))
        order = (at.asc(), vid.asc())
    else:
        beyond = and_(at <= here, or_(at < here, vid < violation.id))
        order = (at.desc(), vid.desc())
    statement = (
        select(col(Violation.id))
        .where(*_pending(actor, filters), ~held_by_other, beyond)
        .order_by(*order)
        .limit(1)
    )
    found = session.exec(statement).first()
    return None if found is None else int(found)


@dataclass(frozen=True)
class Reason:
    """A rejection reason with its key (1..9)."""

    key: int
    code: str
    label_vi: str
    label_en: str
    requires_note: bool


def reject_reasons(session: Session) -> list[Reason]:
    """The active rejection reasons in display order, numbered 1..9 for the keyboard."""
    rows: list[ReasonCode] = list_reasons(session, purpose=REJECT)[:MAX_REASON_KEYS]
    return [
        Reason(n, r.code, r.label_vi, r.label_en, r.requires_note)
        for n, r in enumerate(rows, start=1)
    ]


@dataclass
class CaseView:
    """One case as the reviewer sees it."""

    violation: Violation
    site: Site | None
    facts: dict[str, Any]
    media: dict[str, str]  # role → URL of the parts that arrived
    dropped: list[str]
    claim: ReviewClaim | None
    claim_holder: str | None
    claim_is_mine: bool
    reasons: list[Reason]
    prev_id: int | None
    next_id: int | None
    candidates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        """Whether the case still waits for a review decision."""
        return self.violation.status is ViolationStatus.pending_review

    @property
    def signal(self) -> dict[str, Any]:
        """The signed signal facts (red light), or {}."""
        return dict((self.facts.get("violation") or {}).get("signal") or {})


def _media(violation: Violation, parts: list[EvidencePart]) -> tuple[dict[str, str], list[str]]:
    urls = {
        p.role.value: MEDIA_URL.format(id=violation.id, role=p.role.value)
        for p in parts
        if not p.dropped
    }
    return urls, [p.role.value for p in parts if p.dropped]


def _holder(session: Session, claim: ReviewClaim | None) -> str | None:
    if claim is None:
        return None
    user = session.get(User, claim.user_id)
    return None if user is None else (user.full_name or user.username)


def case_view(
    session: Session, actor: Actor, violation_id: int, form: QueueForm, now: datetime
) -> CaseView:
    """The case (404, or 403 out of scope), its view audited as the API audits it."""
    violation = cases.get_violation(session, violation_id, actor=actor)
    cases.audit_view(session, violation, actor, {"view": "case", "via": "web"})
    claim = cases.active_claims(session, [violation_id], now).get(violation_id)
    media, dropped = _media(violation, cases.parts_of(session, violation))
    filters = form.filters()
    return CaseView(
        violation=violation,
        site=session.get(Site, violation.site_id),
        facts=dict(violation.facts or {}),
        media=media,
        dropped=dropped,
        claim=claim,
        claim_holder=_holder(session, claim),
        claim_is_mine=claim is not None and claim.user_id == actor.user_id,
        reasons=reject_reasons(session),
        prev_id=_neighbour(session, actor, violation, filters, now, after=False),
        next_id=_neighbour(session, actor, violation, filters, now, after=True),
        candidates=[c for c in (violation.plate_candidates or []) if isinstance(c, dict)],
    )
