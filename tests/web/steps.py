"""What the pages' scripts do, for the HTTP tests: workflow steps and staff API calls."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from central_server.accounts.models import User
from central_server.accounts.sessions import CSRF_COOKIE, CSRF_HEADER
from central_server.roles import Actor, Role
from central_server.workflow.service import Action, transition
from tests.central_server.api.harness import ApiEnv


def decide(env: ApiEnv, case_id: int, action: Action, reason: str | None = None) -> User:
    """Approve or reject a seeded case as a fresh operator (the workflow's own transition)."""
    operator = env.user(Role.operator)
    actor = Actor(operator.id, operator.username, frozenset({Role.operator}))
    with env.db.session() as session:
        transition(
            session,
            violation_id=case_id,
            action=action,
            actor=actor,
            reason_code=reason,
            now=env.clock(),
        )
    return operator


def api_call(client: TestClient, method: str, url: str, body: Any = None) -> Any:
    """The staff API with the session's CSRF token, as `tw.api` sends it; asserts success."""
    headers = {CSRF_HEADER: client.cookies.get(CSRF_COOKIE) or ""}
    response = client.request(method, url, json=body, headers=headers)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None
