from __future__ import annotations

from central_server.accounts.sessions import CSRF_HEADER
from central_server.roles import Role
from tests.central_server.api.harness import PASSWORD, ApiEnv

ME = "/api/v1/auth/me"


def test_a_session_ends_after_the_idle_timeout(api_env: ApiEnv) -> None:
    client = api_env.login(api_env.user(Role.operator))
    api_env.clock.advance(minutes=29)
    assert client.get(ME).status_code == 200  # use keeps it alive
    api_env.clock.advance(minutes=29)
    assert client.get(ME).status_code == 200
    api_env.clock.advance(minutes=31)
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_session_ends_at_the_absolute_timeout_even_when_busy(api_env: ApiEnv) -> None:
    client = api_env.login(api_env.user(Role.operator))
    for _ in range(11 * 4):  # every 15 minutes for 11 hours
        api_env.clock.advance(minutes=15)
        assert client.get(ME).status_code == 200
    api_env.clock.advance(minutes=61)
    assert client.get(ME).status_code == 401


def test_logout_ends_the_session(api_env: ApiEnv) -> None:
    client = api_env.login(api_env.user(Role.operator))
    cookie_copy = dict(client.cookies)
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get(ME).status_code == 401
    replay = api_env.client()
    replay.cookies.update(cookie_copy)  # a stolen cookie is worthless after logout
    assert replay.get(ME).status_code == 401


def test_changing_the_password_ends_every_session(api_env: ApiEnv) -> None:
    user = api_env.user(Role.operator)
    laptop, phone = api_env.login(user), api_env.login(user)
    new_password = "Mưa phùn trên cầu Nhật Lệ"
    response = laptop.post(
        "/api/v1/auth/me/password",
        json={"current_password": PASSWORD, "new_password": new_password},
    )
    assert response.status_code == 204
    assert phone.get(ME).status_code == 401
    assert api_env.login(user, password=new_password).get(ME).status_code == 200


def test_a_weak_new_password_is_refused_with_the_reason(api_env: ApiEnv) -> None:
    client = api_env.login(api_env.user(Role.operator))
    response = client.post(
        "/api/v1/auth/me/password",
        json={"current_password": PASSWORD, "new_password": "matkhau2025!"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "weak_password"


def test_the_current_password_is_required_to_change_it(api_env: ApiEnv) -> None:
    client = api_env.login(api_env.user(Role.operator))
    response = client.post(
        "/api/v1/auth/me/password",
        json={"current_password": "a guess at it", "new_password": "Mưa phùn trên cầu Nhật Lệ"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "wrong_current_password"


def test_a_disabled_users_sessions_and_tokens_stop_working(api_env: ApiEnv) -> None:
    user = api_env.user(Role.police_officer)
    by_cookie, by_token = api_env.login(user), api_env.as_token(user)
    admin = api_env.login(api_env.user(Role.admin))
    assert admin.patch(f"/api/v1/users/{user.id}", json={"is_active": False}).status_code == 200
    assert by_cookie.get(ME).status_code == 401
    assert by_token.get(ME).status_code == 401


def test_csrf_header_is_required_for_cookie_writes(api_env: ApiEnv) -> None:
    client = api_env.login(api_env.user(Role.operator))
    token = client.headers.pop(CSRF_HEADER)
    response = client.post("/api/v1/auth/me/tokens", json={"name": "cli"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    client.headers[CSRF_HEADER] = "0" * len(token)
    assert client.post("/api/v1/auth/me/tokens", json={"name": "cli"}).status_code == 403
    client.headers[CSRF_HEADER] = token
    assert client.post("/api/v1/auth/me/tokens", json={"name": "cli"}).status_code == 201
    del client.headers[CSRF_HEADER]
    assert client.get(ME).status_code == 200  # reads need no token


def test_a_csrf_token_from_another_session_does_not_work(api_env: ApiEnv) -> None:
    user = api_env.user(Role.operator)
    mine, other = api_env.login(user), api_env.login(user)
    mine.headers[CSRF_HEADER] = other.headers[CSRF_HEADER]
    assert mine.post("/api/v1/auth/me/tokens", json={"name": "x"}).status_code == 403


def test_bearer_tokens_need_no_csrf_and_can_be_revoked(api_env: ApiEnv) -> None:
    user = api_env.user(Role.operator)
    client = api_env.as_token(user)
    assert client.post("/api/v1/auth/me/tokens", json={"name": "second"}).status_code == 201
    listed = client.get("/api/v1/auth/me/tokens").json()
    assert [t["name"] for t in listed] == ["second", "test"]
    assert all("token" not in t for t in listed)  # secrets are shown once only
    test_token = next(t for t in listed if t["name"] == "test")
    assert client.delete(f"/api/v1/auth/me/tokens/{test_token['id']}").status_code == 204
    assert client.get(ME).status_code == 401  # that was the token this client uses


def test_a_bearer_token_expires(api_env: ApiEnv) -> None:
    client = api_env.login(api_env.user(Role.operator))
    secret = client.post("/api/v1/auth/me/tokens", json={"name": "short", "days": 1}).json()
    bearer = api_env.client()
    bearer.headers["Authorization"] = f"Bearer {secret['token']}"
    assert bearer.get(ME).status_code == 200
    api_env.clock.advance(days=1, seconds=1)
    assert bearer.get(ME).status_code == 401


def test_a_malformed_or_unknown_bearer_token_is_401(api_env: ApiEnv) -> None:
    client = api_env.client()
    for header in ("Bearer tw_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer x" * 50):
        client.headers["Authorization"] = header
        assert client.get(ME).status_code == 401
