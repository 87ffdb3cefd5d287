"""Property-based requests against the staff API from its own OpenAPI document (schemathesis).

With valid credentials (a user holding every role), generated requests must never produce a
server error or an answer the document does not describe. Examples are capped so the default
run stays short; `-m slow` runs many more.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from central_server.app import create_app
from central_server.db import make_engine
from central_server.roles import Role
from central_server.settings import Settings
from tests.central_server.api.harness import ApiEnv, api_env_for, auth_settings, ingest_packet
from tests.fixtures.db import _sqlite_database

# Operations that would end the test's own credentials (its token, its account) mid-run.
SELF_DESTRUCTIVE = (
    r"^(/api/v1/auth/logout|/api/v1/auth/me/tokens/\{token_id\}|/api/v1/users/\{user_id\})$"
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much]


class _Staff:
    """The app on one database for the whole module, and a bearer token holding every role."""

    def __init__(self, env: ApiEnv) -> None:
        self.env = env
        ingest_packet(env)  # one real case, so ids like 1 reach real rows
        client = env.as_token(env.user(*Role))
        self.headers = {"Authorization": client.headers["Authorization"]}


@pytest.fixture(scope="module")
def staff(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Staff]:
    """Module-scoped: a migrated SQLite database and the app, shared by every operation."""
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    for db in _sqlite_database(tmp):
        for env in api_env_for(db, tmp):
            yield _Staff(env)


def _document() -> dict[str, Any]:
    """The staff API's OpenAPI document (building the app touches no database)."""
    settings = Settings(_env_file=None, secret_key="s" * 40)
    engine = make_engine("sqlite://")
    try:
        return create_app(settings, engine, auth_settings=auth_settings()).openapi()
    finally:
        engine.dispose()


# Loaded at import: pytest parametrizes one test per operation; requests go to the module's app.
schema = (
    schemathesis.openapi.from_dict(_document())
    .include(path_regex=r"^/api/v1/")
    .exclude(path_regex=SELF_DESTRUCTIVE)
)


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=HEALTH, derandomize=True)
def test_the_staff_api_never_fails_or_strays_from_its_document(case: Any, staff: _Staff) -> None:
    case.call_and_validate(app=staff.env.app, headers=staff.headers, checks=CHECKS)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=150, deadline=None, suppress_health_check=HEALTH)
def test_the_staff_api_holds_under_many_examples(case: Any, staff: _Staff) -> None:
    case.call_and_validate(app=staff.env.app, headers=staff.headers, checks=CHECKS)
