"""One case as the police page and the printable case sheet show it.

Everything comes from the workflow's own tables and rules: the actions offered are the rows of
the transition table (`workflow.states.TRANSITIONS`) that this officer may take in this state —
the workflow checks them again when the browser calls the API; the legal reference, fine range
and points are the catalogue's entry in force on the day of the violation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from central_server.api.violations import service as cases
from central_server.catalogue import service as catalogue
from central_server.models import Site, Unit, UnitKind, Violation
from central_server.roles import POLICE_ROLES, Actor, Role
from central_server.web.police_case_text import (
    HIDDEN_STEPS,
    MEDIA_LABELS,
    RECORD_LABELS,
    STEP_LABELS,
    Fact,
    facts_of,
    user_names,
)
from central_server.web.police_view import DUE_KIND_LABELS, next_due
from central_server.workflow.deadlines import overdue_kinds
from central_server.workflow.models import PoliceRecord, PoliceRecordKind, ReasonCode
from central_server.workflow.police import STANDALONE_RECORDS
from central_server.workflow.reasons import DISMISS, list_reasons
from central_server.workflow.states import TRANSITIONS, Action, Who, allowed_actions
from protocol.enums import MediaRole

MEDIA_URL = "/api/v1/violations/{id}/media/{role}"
EXPORT_URL = "/api/v1/violations/{id}/export"
# The stills in the order a reader takes them in: the moment, then the plate, then context.
STILL_ORDER = (
    MediaRole.scene_at,
    MediaRole.plate_crop,
    MediaRole.scene_before,
    MediaRole.scene_after,
    MediaRole.rider_crop,
)
# The workflow steps the police page offers (admin reopening lives elsewhere).
POLICE_ACTIONS = frozenset(
    {
        Action.claim,
        Action.release,
        Action.confirm,
        Action.dismiss,
        Action.notify,
        Action.penalize,
        Action.pay,
        Action.close,
    }
)


@dataclass(frozen=True)
class Media:
    """One evidence part: where the page fetches it (None when the box dropped it)."""

    role: MediaRole
    label: str  # msgid
    url: str | None
    mime: str
    sha256: str
    size: int
    dropped: bool


@dataclass(frozen=True)
class Legal:
    """The catalogue's clause for the case, in force on the day of the violation."""

    legal_ref: str
    decree: str
    text_vi: str
    fine_min: int
    fine_max: int
    org_fine_max: int
    points: int

    @property
    def usual_fine(self) -> int:
        """The middle of the individual range: the fine without aggravating circumstances."""
        return (self.fine_min + self.fine_max) // 2


@dataclass(frozen=True)
class Due:
    """One deadline of the case."""

    kind: str
    label: str  # msgid
    at: datetime
    overdue: bool
    next: bool


@dataclass(frozen=True)
class Record:
    """A police record with the names resolved."""

    kind: PoliceRecordKind
    label: str  # msgid
    reference: str
    on_date: date
    channel: str | None
    unit: str
    amount_vnd: int | None
    points: int | None
    note: str
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class Step:
    """A step of the case's audited history."""

    at: datetime
    actor: str
    action: str
    label: str  # msgid, or the action code when it has no words yet


@dataclass
class PoliceCase:
    """Everything the police case page and the case sheet show."""

    violation: Violation
    site: Site | None
    detecting_unit: Unit | None
    handling_unit: Unit | None
    legal: Legal | None
    stills: list[Media]
    clip: Media | None
    dues: list[Due]
    records: list[Record]
    history: list[Step]
    facts: list[Fact]
    approver: str
    claimant: str
    actions: frozenset[str]  # Action values
    record_forms: frozenset[str]  # PoliceRecordKind values
    dismiss_reasons: list[ReasonCode]
    police_units: list[Unit]
    export_url: str
    can_export: bool


def offered_actions(violation: Violation, actor: Actor) -> frozenset[Action]:
    """The police steps of the transition table this actor may take on the case now."""
    offered = set()
    is_claimant = violation.claimed_by_user_id == actor.user_id
    for action in allowed_actions(violation.status):
        rule = TRANSITIONS[action]
        if action not in POLICE_ACTIONS or not actor.has(*rule.roles):
            continue
        if rule.who is Who.not_approver and violation.approved_by_user_id == actor.user_id:
            continue
        if rule.who is Who.claimant and not is_claimant:
            continue
        if rule.who is Who.claimant_or_lead and not (is_claimant or actor.has(Role.police_lead)):
            continue
        offered.add(action)
    return frozenset(offered)


def offered_records(violation: Violation, actor: Actor) -> frozenset[PoliceRecordKind]:
    """The records (owner identified, transfer, escalation) that may be added now."""
    if not actor.has(*POLICE_ROLES):
        return frozenset()
    return frozenset(k for k, states in STANDALONE_RECORDS.items() if violation.status in states)


def legal_of(violation: Violation) -> Legal | None:
    """The catalogue's entry for the case (by behaviour, vehicle and the day it happened)."""
    entry = catalogue.lookup(violation.behaviour, violation.vehicle_class, violation.occurred_at)
    if entry is None:
        return None
    return Legal(
        legal_ref=violation.legal_ref or entry.legal_ref,
        decree=entry.decree,
        text_vi=entry.text_vi,
        fine_min=entry.fine_min,
        fine_max=entry.fine_max,
        org_fine_max=entry.org_fine_max,
        points=entry.points,
    )


def _media(session: Session, violation: Violation, with_urls: bool) -> list[Media]:
    vid = violation.id or 0
    return [
        Media(
            role=part.role,
            label=MEDIA_LABELS[part.role],
            url=None
            if part.dropped or not with_urls
            else MEDIA_URL.format(id=vid, role=part.role.value),
            mime=part.mime,
            sha256=part.sha256,
            size=part.size,
            dropped=part.dropped,
        )
        for part in cases.parts_of(session, violation)
    ]


def _dues(violation: Violation, now: datetime) -> list[Due]:
    overdue = overdue_kinds(violation, now)
    _at, next_kind = next_due(violation)
    fields = {
        "notice": violation.notice_due_at,
        "escalation": violation.escalation_due_at,
        "record": violation.record_due_at,
        "expiry": violation.expires_at,
    }
    return [
        Due(kind, DUE_KIND_LABELS[kind], at, kind in overdue, kind == next_kind)
        for kind, at in fields.items()
        if at is not None
    ]


def _records(session: Session, rows: list[PoliceRecord], names: dict[str, str]) -> list[Record]:
    units = {u.id: u.name for u in session.exec(select(Unit)).all()}
    return [
        Record(
            kind=r.kind,
            label=RECORD_LABELS[r.kind],
            reference=r.reference,
            on_date=r.on_date,
            channel=r.channel.value if r.channel is not None else None,
            unit=units.get(r.unit_id, "") if r.unit_id is not None else "",
            amount_vnd=r.amount_vnd,
            points=r.points,
            note=r.note,
            recorded_by=names.get(r.recorded_by, r.recorded_by),
            recorded_at=r.recorded_at,
        )
        for r in rows
    ]


def _units(session: Session, site: Site | None) -> tuple[Unit | None, Unit | None]:
    if site is None:
        return None, None
    detecting = session.get(Unit, site.detecting_unit_id) if site.detecting_unit_id else None
    handling = session.get(Unit, site.handling_unit_id) if site.handling_unit_id else None
    return detecting, handling


def police_case(
    session: Session, violation_id: int, actor: Actor, now: datetime, *, media: bool
) -> PoliceCase:
    """The case within the actor's scope (404 / 403), ready for the page or the sheet."""
    violation = cases.get_violation(session, violation_id, actor=actor)
    site = session.get(Site, violation.site_id)
    detecting, handling = _units(session, site)
    parts = _media(session, violation, media)
    history = cases.history_of(session, violation_id)
    records = cases.police_records_of(session, violation_id)
    approver = f"user:{violation.approved_by_user_id}" if violation.approved_by_user_id else ""
    claimant = f"user:{violation.claimed_by_user_id}" if violation.claimed_by_user_id else ""
    actors = [e.actor for e in history] + [r.recorded_by for r in records] + [approver, claimant]
    names = user_names(session, [a for a in actors if a])
    return PoliceCase(
        violation=violation,
        site=site,
        detecting_unit=detecting,
        handling_unit=handling,
        legal=legal_of(violation),
        stills=sorted(
            (m for m in parts if m.role is not MediaRole.clip),
            key=lambda m: STILL_ORDER.index(m.role),
        ),
        clip=next((m for m in parts if m.role is MediaRole.clip), None),
        dues=_dues(violation, now),
        records=_records(session, records, names),
        history=[
            Step(e.at, names.get(e.actor, e.actor), e.action, STEP_LABELS.get(e.action, e.action))
            for e in history
            if e.action not in HIDDEN_STEPS
        ],
        facts=facts_of(violation),
        approver=names.get(approver, ""),
        claimant=names.get(claimant, "") if violation.status.value == "verifying" else "",
        actions=frozenset(a.value for a in offered_actions(violation, actor)),
        record_forms=frozenset(k.value for k in offered_records(violation, actor)),
        dismiss_reasons=list_reasons(session, purpose=DISMISS),
        police_units=[
            u
            for u in session.exec(select(Unit).order_by(col(Unit.name))).all()
            if u.kind is UnitKind.police
        ],
        export_url=EXPORT_URL.format(id=violation_id),
        can_export=actor.has(*POLICE_ROLES, Role.admin),
    )
