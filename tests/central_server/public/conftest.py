"""Fixtures for the public search tests: the app on a fresh database, and published cases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from central_server.models import Violation, ViolationStatus
from central_server.workflow.publication import sync_publication
from tests.central_server.api.harness import ApiEnv, api_env_for
from tests.factories_db import make_violation_in_state
from tests.fixtures.db import Database

SEARCH = "/api/public/v1/violations"


class FakeClock:
    """A monotonic clock the test moves by hand (the rate limiter's)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def public_env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    """The app on a fresh database; its rate limiter runs on a hand-moved clock."""
    for env in api_env_for(db, tmp_path):
        env.app.state.public.limiter.clock = FakeClock()
        yield env
        env.app.state.public.engine.dispose()  # its own pool on PostgreSQL (no lifespan here)


Publish = Callable[..., Violation]


@pytest.fixture
def publish(public_env: ApiEnv) -> Publish:
    """Add a case in `status` and sync its public row, as `transition()` does."""

    def _publish(status: ViolationStatus = ViolationStatus.confirmed, **fields: Any) -> Violation:
        with public_env.db.session() as session:
            violation = make_violation_in_state(session, status, **fields)
            sync_publication(session, violation, datetime.now(timezone.utc))
            return violation

    return _publish


def resync(env: ApiEnv, violation_id: int, status: ViolationStatus) -> None:
    """Move a case to `status` and re-sync its public row (withdrawn when unpublished)."""
    with env.db.session() as session:
        violation = session.get(Violation, violation_id)
        assert violation is not None
        violation.status = status
        session.add(violation)
        sync_publication(session, violation, datetime.now(timezone.utc))
