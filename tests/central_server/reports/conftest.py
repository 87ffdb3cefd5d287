"""Fixtures for the report tests: a clock that audit events follow, and a month of cases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central_server import audit
from central_server.evidence_store import FilesystemEvidenceStore
from central_server.models import ViolationStatus
from central_server.roles import Actor, Role
from central_server.workflow.deadlines import local_date
from central_server.workflow.service import Action, transition
from protocol.keys import generate_private_key
from tests.factories_db import make_site, make_user, make_violation
from tests.fixtures.db import Database

# November 2026's period runs from 30 October to 30 November, 00:00 in Vietnam.
IN_PERIOD = datetime(2026, 11, 10, 3, 0, tzinfo=timezone.utc)  # 10:00 on 10 November, ICT
FINE_VND = 19_000_000


@dataclass
class AuditClock:
    """The time audit events get (audit.append reads `central_server.audit.utcnow`)."""

    now: datetime = IN_PERIOD

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[AuditClock]:
    """Audit events stamped with a time the test sets."""
    value = AuditClock()
    monkeypatch.setattr(audit, "utcnow", value)
    yield value


@pytest.fixture
def store(tmp_path: Path) -> FilesystemEvidenceStore:
    """An empty evidence store (reports are stored in it by hash)."""
    return FilesystemEvidenceStore(tmp_path / "evidence")


@pytest.fixture
def server_key() -> Ed25519PrivateKey:
    """A fresh server signing key."""
    return generate_private_key()


def _actor(db: Database, role: Role) -> Actor:
    with db.session() as session:
        user = make_user(session, roles=[role])
    assert user.id is not None
    return Actor(user_id=user.id, name=user.username, roles=frozenset({role}))


@dataclass
class Month:
    """What `month` built: the expected counts of its November 2026 report."""

    expected: dict[str, int] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)


def _detect(db: Database, clock: AuditClock, site_id: str, at: datetime, **kw: Any) -> int:
    clock.now = at
    with db.session() as session:
        violation = make_violation(
            session, site_id=site_id, occurred_at=at - timedelta(seconds=5), detected_at=at, **kw
        )
        audit.append(
            session,
            actor="system:ingest",
            action="violation.ingested",
            entity_type="violation",
            entity_id=violation.id or 0,
        )
    assert violation.id is not None
    return violation.id


def _act(
    db: Database, clock: AuditClock, vid: int, action: Action, actor: Actor, **kw: Any
) -> None:
    clock.now += timedelta(hours=2)
    with db.session() as session:
        transition(session, violation_id=vid, action=action, actor=actor, now=clock.now, **kw)


@pytest.fixture
def month(db: Database, clock: AuditClock) -> Month:
    """Six cases detected in November 2026's period, taken along the workflow by real steps."""
    operator, officer, lead = (
        _actor(db, r) for r in (Role.operator, Role.police_officer, Role.police_lead)
    )
    with db.session() as session:
        site_a = make_site(session, ward="Phường Bến Nghé").id
        site_b = make_site(session, ward="Phường Đa Kao").id
    result = Month()
    for n in range(6):
        at = IN_PERIOD + timedelta(days=n)
        result.ids.append(_detect(db, clock, site_a if n % 2 else site_b, at))
    one_day_before = datetime(2026, 10, 29, 16, 59, tzinfo=timezone.utc)  # 23:59 29 Oct, ICT
    _detect(db, clock, site_a, one_day_before)  # the previous period: not counted
    a, b, c, d, e, f = result.ids
    clock.now = IN_PERIOD + timedelta(days=7)
    _act(db, clock, f, Action.reject, operator, reason_code="unreadable_plate")
    for vid in (a, b, c, d):
        _act(db, clock, vid, Action.approve, operator)
    for vid in (a, b, c):
        _act(db, clock, vid, Action.claim, officer)
    _act(db, clock, c, Action.dismiss, officer, reason_code="unreadable_plate")
    for vid in (a, b):
        _act(db, clock, vid, Action.confirm, officer)
    day = local_date(clock.now).isoformat()
    notice = {"number": "1/TB", "date": day, "channel": "vnetraffic"}
    _act(db, clock, a, Action.notify, officer, data=notice)
    penalty = {"number": "2/QĐ-XPHC", "date": day, "amount_vnd": FINE_VND, "points": 4}
    _act(db, clock, a, Action.penalize, lead, data=penalty)
    _act(db, clock, a, Action.pay, officer, data={"date": day, "reference": "DVCQG-1"})
    result.expected = {
        "detected": 6,
        "approved": 4,
        "rejected": 1,
        "sent_to_police": 4,
        "confirmed": 2,
        "dismissed": 1,
        "notices": 1,
        "decisions": 1,
        "paid": 1,
        "expired": 0,
        "fines_vnd": FINE_VND,
    }
    return result


STATUS_AFTER = {
    ViolationStatus.paid: 1,
    ViolationStatus.confirmed: 1,
    ViolationStatus.dismissed: 1,
    ViolationStatus.approved: 1,
    ViolationStatus.pending_review: 1,
    ViolationStatus.rejected: 1,
}
