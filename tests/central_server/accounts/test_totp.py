from __future__ import annotations

from typing import Any

import pyotp

from central_server.roles import Role
from tests.central_server.api.harness import PASSWORD, ApiEnv


def _enrol(env: ApiEnv, user_client: Any) -> pyotp.TOTP:
    client = user_client
    setup = client.post("/api/v1/auth/me/totp")
    assert setup.status_code == 200
    assert setup.json()["otpauth_uri"].startswith("otpauth://totp/trafficwatch:")
    totp = pyotp.TOTP(setup.json()["secret"])
    confirmed = client.post("/api/v1/auth/me/totp/confirm", json={"code": totp.at(env.clock.now)})
    assert confirmed.status_code == 204, confirmed.text
    return totp


def _login(env: ApiEnv, username: str, code: str | None) -> Any:
    body = {"username": username, "password": PASSWORD} | ({"totp_code": code} if code else {})
    return env.client().post("/api/v1/auth/login", json=body)


def test_after_enrolment_login_needs_the_current_code(api_env: ApiEnv) -> None:
    user = api_env.user(Role.police_officer)
    totp = _enrol(api_env, api_env.login(user))
    api_env.clock.advance(seconds=60)
    missing = _login(api_env, user.username, None)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "totp_required"
    wrong = _login(
        api_env, user.username, "000000" if totp.at(api_env.clock.now) != "000000" else "111111"
    )
    assert wrong.json()["error"]["code"] == "totp_invalid"
    good = _login(api_env, user.username, totp.at(api_env.clock.now))
    assert good.status_code == 200


def test_a_code_is_accepted_only_once(api_env: ApiEnv) -> None:
    user = api_env.user(Role.police_officer)
    totp = _enrol(api_env, api_env.login(user))
    api_env.clock.advance(seconds=90)
    code = totp.at(api_env.clock.now)
    assert _login(api_env, user.username, code).status_code == 200
    assert _login(api_env, user.username, code).status_code == 401


def test_wrong_codes_count_towards_the_lockout(api_env: ApiEnv) -> None:
    user = api_env.user(Role.police_lead)
    totp = _enrol(api_env, api_env.login(user))
    api_env.clock.advance(seconds=90)
    bad = "123456" if totp.at(api_env.clock.now) != "123456" else "654321"
    codes = [_login(api_env, user.username, bad).status_code for _ in range(5)]
    assert codes[-1] == 423


def test_police_must_enrol_before_working_when_the_setting_is_on(api_env: ApiEnv) -> None:
    settings = api_env.app.state.auth_settings
    api_env.app.state.auth_settings = settings.model_copy(update={"require_totp_for_police": True})
    officer = api_env.user(Role.police_officer)
    client = api_env.login(officer)
    me = client.get("/api/v1/auth/me").json()
    assert me["totp_setup_required"] is True
    blocked = client.get("/api/v1/violations")
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "totp_setup_required"
    _enrol(api_env, client)
    assert client.get("/api/v1/violations").status_code == 200
    operator = api_env.login(api_env.user(Role.operator))  # not police: not required
    assert operator.get("/api/v1/violations").status_code == 200


def test_an_admin_reset_lets_a_user_enrol_again(api_env: ApiEnv) -> None:
    user = api_env.user(Role.police_officer)
    client = api_env.login(user)
    _enrol(api_env, client)
    assert client.post("/api/v1/auth/me/totp").status_code == 409  # already on
    admin = api_env.login(api_env.user(Role.admin))
    reset = admin.post(f"/api/v1/users/{user.id}/totp/reset")
    assert reset.status_code == 200 and reset.json()["totp_enabled"] is False
    assert _login(api_env, user.username, None).status_code == 200
