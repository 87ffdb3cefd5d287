"""Fixtures for the workflow tests: staff of every role, and a helper to act on cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlmodel import Session

from central_server.models import Violation, ViolationStatus
from central_server.roles import Actor, Role
from central_server.workflow.deadlines import local_date
from central_server.workflow.service import Action, transition
from tests.factories_db import make_user
from tests.fixtures.db import Database


def make_actor(session: Session, *roles: Role, scopes: frozenset[str] = frozenset()) -> Actor:
    """Add a user holding `roles` and return the actor the API would build for them."""
    user = make_user(session, roles=roles, scopes=sorted(scopes))
    assert user.id is not None
    return Actor(user_id=user.id, name=user.username, roles=frozenset(roles), scopes=scopes)


@dataclass(frozen=True)
class Staff:
    """One person per role (two operators and two officers, to act against each other)."""

    operator: Actor
    operator2: Actor
    officer: Actor
    officer2: Actor
    lead: Actor
    admin: Actor
    auditor: Actor


@pytest.fixture
def staff(db: Database) -> Staff:
    """A user of every workflow role in the test database."""
    with db.session() as session:
        return Staff(
            operator=make_actor(session, Role.operator),
            operator2=make_actor(session, Role.operator),
            officer=make_actor(session, Role.police_officer),
            officer2=make_actor(session, Role.police_officer),
            lead=make_actor(session, Role.police_lead),
            admin=make_actor(session, Role.admin),
            auditor=make_actor(session, Role.auditor),
        )


def today() -> str:
    """Today's date in Vietnam, as the police enter it."""
    return local_date(datetime.now(timezone.utc)).isoformat()


def notice() -> dict[str, Any]:
    """A valid notice (form 01) sent today."""
    return {"number": "123/TB-CSGT", "date": today(), "channel": "vnetraffic"}


def penalty(amount_vnd: int = 19_000_000, points: int = 4) -> dict[str, Any]:
    """A valid penalty decision for a car running a red light (168/2024 6.9.b)."""
    return {"number": "45/QĐ-XPHC", "date": today(), "amount_vnd": amount_vnd, "points": points}


def payment() -> dict[str, Any]:
    """A payment made today."""
    return {"date": today(), "reference": "DVCQG-0001"}


def act(db: Database, violation_id: int, action: Action, actor: Actor, **kwargs: Any) -> Violation:
    """Run one transition in its own committed transaction."""
    with db.session() as session:
        return transition(session, violation_id=violation_id, action=action, actor=actor, **kwargs)


# The steps that take a new case to each state along the main path, with who takes them.
PATH: list[tuple[ViolationStatus, Action, str, Any]] = [
    (ViolationStatus.approved, Action.approve, "operator", dict),
    (ViolationStatus.verifying, Action.claim, "officer", dict),
    (ViolationStatus.confirmed, Action.confirm, "officer", dict),
    (ViolationStatus.notified, Action.notify, "officer", lambda: {"data": notice()}),
    (ViolationStatus.penalized, Action.penalize, "lead", lambda: {"data": penalty()}),
]


def drive(db: Database, staff: Staff, violation_id: int, status: ViolationStatus) -> Violation:
    """Take a case on along the main path, by real transitions, until it is in `status`."""
    with db.session() as session:
        violation = session.get(Violation, violation_id)
        assert violation is not None
    reached_states = [reached for reached, *_ in PATH]
    start = reached_states.index(violation.status) + 1 if violation.status in reached_states else 0
    for reached, action, who, extra in PATH[start:]:
        if violation.status is status:
            break
        violation = act(db, violation_id, action, getattr(staff, who), **extra())
        assert violation.status is reached
    assert violation.status is status, f"{status} is not on the main path"
    return violation
