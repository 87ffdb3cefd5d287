"""Fixtures for the web UI's HTTP tests: the app on the test database, logged-in page clients,
seeded cases with real media.

    def test_x(web_env: ApiEnv, page_as: PageAs, seed: Seed) -> None:
        case_id = seed(minutes=5)
        client, user = page_as(Role.operator)
        page = client.get(f"/review/case/{case_id}")
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from central_server.accounts.models import User
from central_server.roles import Role
from tests.central_server.api.harness import PASSWORD, ApiEnv, api_env_for
from tests.fixtures.db import Database
from tests.web.seed import seed_case

PageAs = Callable[..., tuple[TestClient, User]]
Seed = Callable[..., int]


@pytest.fixture
def web_env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    """The whole app (API and pages) on a fresh database, test clock, cheap hashing."""
    yield from api_env_for(db, tmp_path)


def login_page_client(env: ApiEnv, user: User, password: str = PASSWORD) -> TestClient:
    """A client logged in through the login form (session and CSRF cookies set)."""
    client = env.client()
    response = client.post(
        "/login",
        data={"username": user.username, "password": password, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def page_as(web_env: ApiEnv) -> PageAs:
    """`page_as(*roles, **user_fields)` → (a client logged in by the form, the user)."""

    def make(*roles: Role, **overrides: Any) -> tuple[TestClient, User]:
        user = web_env.user(*roles, **overrides)
        return login_page_client(web_env, user), user

    return make


@pytest.fixture
def seed(web_env: ApiEnv) -> Seed:
    """`seed(**overrides)` → the id of a new case waiting for review, with real media."""

    def make(**overrides: Any) -> int:
        return seed_case(web_env.db, web_env.store, **overrides)

    return make
