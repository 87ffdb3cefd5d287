"""Two people act on one case at once: one wins, the other gets 409 (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from central_server.errors import AppError
from central_server.models import Violation, ViolationStatus
from central_server.roles import Actor
from central_server.workflow.service import Action, transition
from tests.central_server.workflow.conftest import Staff, drive
from tests.factories_db import make_violation
from tests.fixtures.db import Database

S = ViolationStatus


def _race(
    db: Database, violation_id: int, attempts: list[tuple[Action, Actor, dict[str, Any]]]
) -> list[Any]:
    """Run the attempts in threads released together, each in its own session; return outcomes."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[Any] = [None] * len(attempts)

    def attempt(index: int) -> None:
        action, actor, kwargs = attempts[index]
        try:
            with db.session() as session:
                barrier.wait()
                outcomes[index] = transition(
                    session, violation_id=violation_id, action=action, actor=actor, **kwargs
                ).status
        except AppError as exc:
            outcomes[index] = exc

    threads = [
        threading.Thread(target=attempt, args=(i,), name=f"race-{i}") for i in range(len(attempts))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.parametrize("with_version", [True, False], ids=["expected-version", "no-version"])
@pytest.mark.parametrize(
    ("start", "first", "second"),
    [
        (S.pending_review, (Action.approve, "operator"), (Action.approve, "operator2")),
        (S.pending_review, (Action.approve, "operator"), (Action.reject, "operator2")),
        (S.approved, (Action.claim, "officer"), (Action.claim, "officer2")),
    ],
    ids=["approve-approve", "approve-reject", "claim-claim"],
)
def test_one_wins_and_the_other_gets_409(
    db: Database,
    staff: Staff,
    start: ViolationStatus,
    first: tuple[Action, str],
    second: tuple[Action, str],
    with_version: bool,
) -> None:
    with db.session() as session:
        violation_id = make_violation(session).id
    assert violation_id is not None
    seen = drive(db, staff, violation_id, start)
    extra: dict[str, Any] = {"expected_version": seen.version} if with_version else {}
    attempts = [
        (
            action,
            getattr(staff, who),
            extra | {"reason_code": "duplicate"} if action is Action.reject else extra,
        )
        for action, who in (first, second)
    ]
    outcomes = _race(db, violation_id, attempts)
    winners = [o for o in outcomes if isinstance(o, ViolationStatus)]
    losers = [o for o in outcomes if isinstance(o, AppError)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert losers[0].status_code == 409
    assert losers[0].code in {"invalid_transition", "stale_version"}
    with db.session() as session:
        stored = session.get(Violation, violation_id)
    assert stored is not None and stored.status is winners[0]
    assert stored.version == seen.version + 1
