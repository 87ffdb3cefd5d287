"""Fixtures for the fault suite: one database per test (PostgreSQL when TEST_DATABASE_URL is set,
SQLite otherwise: the faults are about transport, so one backend per run keeps the suite short)
and the `rig` that owns the test's boxes and ingests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.brokers import BrokerEndpoint
from tests.fixtures.db import (
    TEST_DATABASE_URL_ENV,
    Database,
    _postgres_database,
    _sqlite_database,
)
from tests.reliability.harness import Rig


@pytest.fixture
def rig_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database: PostgreSQL with TEST_DATABASE_URL, else SQLite."""
    if os.environ.get(TEST_DATABASE_URL_ENV):
        yield from _postgres_database(request.getfixturevalue("_postgres_admin"))
    else:
        yield from _sqlite_database(tmp_path)


@pytest.fixture
def rig(tmp_path: Path, rig_db: Database, broker: BrokerEndpoint) -> Iterator[Rig]:
    """The test's system on the shared broker (tests may point `rig.endpoint` elsewhere)."""
    system = Rig(tmp_path / "rig", rig_db, broker)
    try:
        yield system
    finally:
        system.close()
