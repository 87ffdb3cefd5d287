"""Logging in through the page: the API's rules (lockout, TOTP, audit), `next`, expiry, logout."""

from __future__ import annotations

import pyotp
from fastapi.testclient import TestClient
from sqlmodel import col, select

from central_server.accounts.models import User
from central_server.models import AuditEvent
from central_server.roles import Role
from tests.central_server.api.harness import PASSWORD, ApiEnv
from tests.web.conftest import PageAs, Seed


def _post_login(client: TestClient, username: str, password: str, **extra: str) -> object:
    data = {"username": username, "password": password, "next": "/review"} | extra
    return client.post("/login", data=data, follow_redirects=False)


def _audit_actions(env: ApiEnv) -> list[str]:
    with env.db.session() as session:
        return list(session.exec(select(col(AuditEvent.action)).order_by(col(AuditEvent.id))).all())


def test_logging_in_returns_to_the_page_asked_for(web_env: ApiEnv) -> None:
    user = web_env.user(Role.operator)
    client = web_env.client()
    response = _post_login(client, user.username, PASSWORD)
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == "/review"  # type: ignore[attr-defined]
    assert client.get("/review").status_code == 200
    assert "auth.login" in _audit_actions(web_env)


def test_a_wrong_password_shows_the_apis_message_and_counts(web_env: ApiEnv) -> None:
    user = web_env.user(Role.operator)
    client = web_env.client()
    response = client.post("/login", data={"username": user.username, "password": "sai mật khẩu"})
    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.text
    assert f'value="{user.username}"' in response.text  # the name stays filled in
    english = client.post(
        "/login?lang=en", data={"username": user.username, "password": "wrong again"}
    )
    assert "Wrong user name or password." in english.text
    assert _audit_actions(web_env).count("auth.login_failed") == 2


def test_the_account_locks_after_five_failures(web_env: ApiEnv) -> None:
    user = web_env.user(Role.operator)
    client = web_env.client()
    for _ in range(5):
        last = client.post("/login", data={"username": user.username, "password": "x" * 12})
    assert last.status_code == 423
    assert "Tài khoản tạm khóa" in last.text
    refused = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert refused.status_code == 423  # even the right password, until the lock ends


def test_totp_is_asked_for_after_the_password(web_env: ApiEnv) -> None:
    user = web_env.user(Role.police_officer)
    api = web_env.login(user)
    seed = api.post("/api/v1/auth/me/totp").json()["secret"]
    totp = pyotp.TOTP(seed)
    api.post("/api/v1/auth/me/totp/confirm", json={"code": totp.at(web_env.clock.now)})
    web_env.clock.advance(seconds=60)  # a code is accepted once: the next one
    client = web_env.client()
    asked = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert asked.status_code == 401
    assert 'name="totp_code"' in asked.text
    assert "Nhập mã xác thực từ ứng dụng (TOTP)." in asked.text
    good = _post_login(client, user.username, PASSWORD, totp_code=totp.at(web_env.clock.now))
    assert good.status_code == 303  # type: ignore[attr-defined]


def test_an_expired_session_logs_in_again_and_returns_to_the_case(
    page_as: PageAs, web_env: ApiEnv, seed: Seed
) -> None:
    case_id = seed()
    client, user = page_as(Role.operator)
    assert client.get(f"/review/case/{case_id}").status_code == 200
    web_env.clock.advance(minutes=31)  # the idle timeout is 30 minutes
    expired = client.get(f"/review/case/{case_id}", follow_redirects=False)
    assert expired.status_code == 303
    target = expired.headers["location"]
    assert target == f"/login?next=/review/case/{case_id}"
    form = client.get(target)
    assert f'name="next" value="/review/case/{case_id}"' in form.text
    back = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "next": f"/review/case/{case_id}"},
        follow_redirects=False,
    )
    assert back.headers["location"] == f"/review/case/{case_id}"


def test_next_never_leaves_the_site(web_env: ApiEnv) -> None:
    user = web_env.user(Role.operator)
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"):
        client = web_env.client()
        response = _post_login(client, user.username, PASSWORD, next=evil)
        assert response.headers["location"] == "/", evil  # type: ignore[attr-defined]


def test_a_login_form_posted_from_another_site_is_refused(web_env: ApiEnv) -> None:
    user = web_env.user(Role.operator)
    client = web_env.client()
    response = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "tw_session" not in response.headers.get("set-cookie", "")


def test_a_logged_in_user_skips_the_form(page_as: PageAs) -> None:
    client, _ = page_as(Role.operator)
    response = client.get("/login?next=/review", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/review"


def test_logout_ends_the_session(page_as: PageAs, web_env: ApiEnv) -> None:
    client, _ = page_as(Role.operator)
    page = client.get("/review").text
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token: not logged out
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "Đã đăng xuất." in client.get("/login").text
    assert client.get("/review", follow_redirects=False).status_code == 303
    assert "auth.logout" in _audit_actions(web_env)


def test_totp_setup_required_is_explained(web_env: ApiEnv) -> None:
    settings = web_env.app.state.auth_settings
    web_env.app.state.auth_settings = settings.model_copy(update={"require_totp_for_police": True})
    user = web_env.user(Role.police_officer)
    client = web_env.client()
    _post_login(client, user.username, PASSWORD)
    with web_env.db.session() as session:
        assert session.get(User, user.id) is not None
    response = client.get("/review")
    assert response.status_code == 403
    assert "Cần bật xác thực hai lớp (TOTP)" in response.text
