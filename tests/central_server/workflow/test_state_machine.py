"""Property: random sequences of actions by random people never reach a forbidden state.

Each example runs on its own copy of a migrated SQLite database. After every attempt: a success
followed a row of the transition table, a refusal changed nothing, the public table matches the
status, a case under verification has a claimant who is not its approver. At the end the audit
chain verifies and holds exactly one event per successful transition.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from central_server.audit import verify_chain
from central_server.db import make_engine, session_scope, upgrade
from central_server.errors import AppError
from central_server.models import AuditEvent, Violation, ViolationStatus
from central_server.roles import Actor, Role
from central_server.workflow.models import PublishedViolation
from central_server.workflow.service import Action, transition
from central_server.workflow.states import PUBLISHED_STATUS, TRANSITIONS, allowed_actions
from tests.central_server.workflow.conftest import make_actor, notice, payment, penalty
from tests.factories_db import make_violation

S = ViolationStatus
MAIN_PATH = [
    (Action.approve, "operator"),
    (Action.claim, "officer"),
    (Action.confirm, "officer"),
    (Action.notify, "officer"),
    (Action.penalize, "lead"),
]
PEOPLE = ("operator", "operator2", "officer", "officer2", "lead", "admin", "both", "scheduler")


@dataclass(frozen=True)
class Template:
    """A migrated database file with staff in it, copied for each example."""

    path: Path
    people: dict[str, Actor]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    """Migrate once; every example starts from a copy of this file."""
    path = tmp_path_factory.mktemp("workflow-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    roles = {
        "operator": (Role.operator,),
        "operator2": (Role.operator,),
        "officer": (Role.police_officer,),
        "officer2": (Role.police_officer,),
        "lead": (Role.police_lead,),
        "admin": (Role.admin,),
        "both": (Role.operator, Role.police_officer),  # may approve or verify, never both
    }
    with session_scope(engine) as session:
        people = {name: make_actor(session, *held) for name, held in roles.items()}
    engine.dispose()  # the last connection closing checkpoints the WAL into the file
    yield Template(path, people | {"scheduler": Actor.system("scheduler")})


def _kwargs(action: Action, complete: bool) -> dict[str, Any]:
    """What a careful (complete) or careless user sends with `action`."""
    if not complete:
        return {}
    reasons = {Action.reject: "duplicate", Action.dismiss: "amber_grace"}
    if action in (Action.reopen_review, Action.reopen_approved):
        return {"reason_code": "decision_error"}
    if action in reasons:
        return {"reason_code": reasons[action]}
    data = {Action.notify: notice, Action.penalize: penalty, Action.pay: payment}
    return {"data": data[action]()} if action in data else {}


def _check_invariants(session: Any, violation: Violation) -> None:
    published = session.get(PublishedViolation, violation.id)
    assert (published is not None) == (violation.status in PUBLISHED_STATUS)
    if violation.status is S.verifying:
        assert violation.claimed_by_user_id is not None
        assert violation.claimed_by_user_id != violation.approved_by_user_id
    if violation.status not in (S.pending_review, S.rejected):
        assert violation.approved_by_user_id is not None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_action_sequences_never_reach_a_forbidden_state(
    template: Template, data: st.DataObject
) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="tw-sm-"))
    shutil.copy(template.path, workdir / "tw.db")
    engine = make_engine(f"sqlite:///{workdir / 'tw.db'}")
    try:
        _run(engine, template.people, data)
    finally:
        engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


def _draw_step(
    data: st.DataObject, people: dict[str, Actor], status: ViolationStatus
) -> tuple[Action, str, bool, bool]:
    # Mostly an action the table allows from here, by someone holding its role, with
    # what it needs, so that sequences get deep into the workflow; otherwise anything at all.
    allowed = allowed_actions(status) or list(Action)
    any_action = st.sampled_from(list(Action))
    action = data.draw(st.one_of(*[st.sampled_from(allowed)] * 3, any_action))
    rule = TRANSITIONS[action]
    eligible = [name for name, actor in people.items() if actor.roles & rule.roles]
    anyone = st.sampled_from(PEOPLE)
    who = data.draw(st.one_of(*[st.sampled_from(eligible or ["scheduler"])] * 3, anyone))
    complete = data.draw(st.sampled_from([True, True, True, False]))
    late = data.draw(st.sampled_from([False] * 9 + [True]))  # past the limitation period
    return action, who, complete, late


def _run(engine: Any, people: dict[str, Actor], data: st.DataObject) -> None:
    with session_scope(engine) as session:
        violation_id = make_violation(session).id
    assert violation_id is not None
    successes = 0
    # A prefix of the main path first, so that the random part starts anywhere in the workflow.
    prefix = MAIN_PATH[: data.draw(st.integers(min_value=0, max_value=len(MAIN_PATH)))]
    count = data.draw(st.integers(min_value=1, max_value=12))
    for index in range(len(prefix) + count):
        with session_scope(engine) as session:
            before = session.get(Violation, violation_id)
            assert before is not None
            status, version = before.status, before.version
        if index < len(prefix):
            action, who, complete, late = (*prefix[index], True, False)
        else:
            action, who, complete, late = _draw_step(data, people, status)
        now = datetime.now(timezone.utc) + (timedelta(days=400) if late else timedelta(0))
        try:
            with session_scope(engine) as session:
                transition(
                    session,
                    violation_id=violation_id,
                    action=action,
                    actor=people[who],
                    now=now,
                    **_kwargs(action, complete),
                )
            refused = False
        except AppError as exc:
            assert exc.status_code in (403, 409, 422), exc
            refused = True
        with session_scope(engine) as session:
            after = session.get(Violation, violation_id)
            assert after is not None
            if refused:
                assert (after.status, after.version) == (status, version)
            else:
                successes += 1
                rule = TRANSITIONS[action]
                assert status in rule.sources and after.status is rule.target
                assert after.version == version + 1
            _check_invariants(session, after)
    with session_scope(engine) as session:
        assert verify_chain(session).ok
        events = session.exec(
            select(col(AuditEvent.action)).where(col(AuditEvent.action).like("violation.%"))
        ).all()
        assert len(events) == successes
