"""Property-based requests against the public API from its own OpenAPI document (no 500)."""

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
from central_server.models import ViolationStatus
from central_server.public.settings import PublicSettings
from central_server.settings import Settings
from tests.central_server.api.harness import ApiEnv, api_env_for, auth_settings
from tests.factories_db import make_violation_in_state
from tests.fixtures.db import _sqlite_database

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much]


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiEnv]:
    """Module-scoped: a migrated SQLite database with one published case, limits out of the way."""
    from central_server.workflow.publication import sync_publication

    tmp: Path = tmp_path_factory.mktemp("public-schemathesis")
    for db in _sqlite_database(tmp):
        for env in api_env_for(db, tmp):
            env.app.state.public.settings = PublicSettings(_env_file=None, burst=1_000_000)
            with db.session() as session:
                violation = make_violation_in_state(session, ViolationStatus.confirmed)
                sync_publication(session, violation, violation.detected_at)
            yield env
            env.app.state.public.engine.dispose()


def _document() -> dict[str, Any]:
    settings = Settings(_env_file=None, secret_key="s" * 40)
    engine = make_engine("sqlite://")
    try:
        return create_app(settings, engine, auth_settings=auth_settings()).openapi()
    finally:
        engine.dispose()


schema = schemathesis.openapi.from_dict(_document()).include(path_regex=r"^/api/public/")


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=HEALTH, derandomize=True)
def test_the_public_api_never_fails_or_strays_from_its_document(case: Any, public: ApiEnv) -> None:
    case.call_and_validate(app=public.app, checks=CHECKS)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=1000, deadline=None, suppress_health_check=HEALTH)
def test_the_public_api_holds_under_many_examples(case: Any, public: ApiEnv) -> None:
    case.call_and_validate(app=public.app, checks=CHECKS)
