"""Fixtures for the account tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.central_server.api.harness import ApiEnv, api_env_for
from tests.fixtures.db import Database


@pytest.fixture
def api_env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    """The app on a fresh database, with a test clock and cheap password hashing."""
    yield from api_env_for(db, tmp_path)
