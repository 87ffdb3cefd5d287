from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from central_server.accounts.jobs import purge_login_records
from central_server.accounts.models import LoginAttempt, UserSession
from central_server.roles import Role
from tests.central_server.api.harness import ApiEnv


def test_old_login_records_are_purged_and_live_sessions_kept(api_env: ApiEnv) -> None:
    user = api_env.user(Role.operator)
    old = api_env.login(user)  # a session and a login attempt, at the old clock
    assert old.post("/api/v1/auth/logout").status_code == 204
    api_env.clock.advance(days=100)
    current = api_env.login(user)
    with api_env.db.session() as session:
        counts = purge_login_records(session, api_env.clock.now)
    assert counts == {"login_attempts": 1, "sessions": 1}
    with api_env.db.session() as session:
        assert session.exec(select(func.count()).select_from(LoginAttempt)).one() == 1
        assert session.exec(select(func.count()).select_from(UserSession)).one() == 1
    assert current.get("/api/v1/auth/me").status_code == 200
