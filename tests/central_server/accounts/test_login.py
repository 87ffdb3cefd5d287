from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from sqlmodel import col, select

from central_server.accounts.models import User
from central_server.accounts.sessions import CSRF_COOKIE, SESSION_COOKIE
from central_server.models import AuditEvent
from central_server.roles import Role
from tests.central_server.api.harness import PASSWORD, ApiEnv


def _login(
    env: ApiEnv, username: str, password: str, *, base_url: str = "http://testserver"
) -> Any:
    return env.client(base_url).post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )


def _cookies(set_cookie_headers: list[str]) -> dict[str, str]:
    """Each cookie's attributes, lower-cased, as one string."""
    found: dict[str, str] = {}
    for header in set_cookie_headers:
        name = SimpleCookie(header)
        for key in name:
            found[key] = header.lower()
    return found


def _audit_actions(env: ApiEnv) -> list[str]:
    with env.db.session() as session:
        return list(session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all())


def test_login_opens_a_session_with_safe_cookies(api_env: ApiEnv) -> None:
    user = api_env.user(Role.operator)
    response = api_env.client().post(
        "/api/v1/auth/login", json={"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == user.username
    assert "case.review" in body["user"]["permissions"]
    cookies = _cookies(response.headers.get_list("set-cookie"))
    assert "httponly" in cookies[SESSION_COOKIE] and "samesite=strict" in cookies[SESSION_COOKIE]
    assert "httponly" not in cookies[CSRF_COOKIE]  # the page's script must read it
    assert "secure" not in cookies[SESSION_COOKIE]  # plain HTTP here
    assert "auth.login" in _audit_actions(api_env)


def test_cookies_are_secure_behind_tls(api_env: ApiEnv) -> None:
    user = api_env.user(Role.operator)
    response = _login(api_env, user.username, PASSWORD, base_url="https://testserver")
    cookies = _cookies(response.headers.get_list("set-cookie"))
    assert "secure" in cookies[SESSION_COOKIE] and "secure" in cookies[CSRF_COOKIE]


def test_unknown_user_and_wrong_password_get_the_same_answer(api_env: ApiEnv) -> None:
    user = api_env.user(Role.operator)
    wrong = _login(api_env, user.username, "not the password at all")
    unknown = _login(api_env, "nobody.here", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["message_vi"] == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert _audit_actions(api_env).count("auth.login_failed") == 2


def test_five_failures_lock_the_account_until_the_lockout_ends(api_env: ApiEnv) -> None:
    user = api_env.user(Role.police_officer)
    answers = [_login(api_env, user.username, f"wrong password {i}").status_code for i in range(5)]
    assert answers == [401, 401, 401, 401, 423]
    locked = _login(api_env, user.username, PASSWORD)
    assert locked.status_code == 423
    assert "khóa" in locked.json()["error"]["message_vi"]
    assert "user.locked" in _audit_actions(api_env)
    api_env.clock.advance(minutes=16)
    assert _login(api_env, user.username, PASSWORD).status_code == 200


def test_an_admin_can_lift_a_lockout(api_env: ApiEnv) -> None:
    user = api_env.user(Role.operator)
    admin = api_env.login(api_env.user(Role.admin))
    for i in range(5):
        _login(api_env, user.username, f"wrong password {i}")
    assert admin.post(f"/api/v1/users/{user.id}/unlock").status_code == 200
    assert _login(api_env, user.username, PASSWORD).status_code == 200


def test_unknown_names_lock_like_real_ones(api_env: ApiEnv) -> None:
    answers = [_login(api_env, "ghost.user", f"guess {i}").status_code for i in range(5)]
    assert answers == [401, 401, 401, 401, 423]


def test_many_failures_from_one_address_are_throttled(api_env: ApiEnv) -> None:
    api_env.app.state.auth_settings = api_env.app.state.auth_settings.model_copy(
        update={"throttle_max_failures_per_ip": 3}
    )
    for i in range(3):
        _login(api_env, f"guess{i}.user", "whatever password")
    throttled = _login(api_env, "another.user", "whatever password")
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "too_many_attempts"
    api_env.clock.advance(minutes=16)
    assert _login(api_env, "another.user", "whatever password").status_code == 401


def test_a_disabled_account_cannot_log_in(api_env: ApiEnv) -> None:
    user = api_env.user(Role.operator, is_active=False)
    assert _login(api_env, user.username, PASSWORD).status_code == 401


def test_a_successful_login_resets_the_failure_count(api_env: ApiEnv) -> None:
    user = api_env.user(Role.operator)
    for i in range(4):
        _login(api_env, user.username, f"wrong password {i}")
    assert _login(api_env, user.username, PASSWORD).status_code == 200
    with api_env.db.session() as session:
        stored = session.get(User, user.id)
        assert stored is not None and stored.failed_logins == 0 and stored.last_login_at
