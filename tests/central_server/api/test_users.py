from __future__ import annotations

from sqlmodel import col, select

from central_server.models import AuditEvent
from central_server.roles import Role
from tests.central_server.api.harness import PASSWORD, ApiEnv

USERS = "/api/v1/users"
STRONG = "Sông Nhật Lệ chiều gió mùa"


def test_an_admin_creates_a_scoped_police_account(api_env: ApiEnv) -> None:
    admin = api_env.login(api_env.user(Role.admin))
    unit = admin.post("/api/v1/units", json={"name": "Đội CSGT Đồng Hới", "kind": "police"}).json()
    created = admin.post(
        USERS,
        json={
            "username": "tuan.nv",
            "full_name": "Nguyễn Văn Tuấn",
            "password": STRONG,
            "roles": ["police_officer", "police_officer"],
            "scopes": ["Phường Đồng Hới"],
            "unit_id": unit["id"],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["roles"] == ["police_officer"] and body["scopes"] == ["Phường Đồng Hới"]
    assert "password" not in body and "password_hash" not in body
    with api_env.db.session() as session:
        event = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "user.created")
        ).one()
    assert event.entity_id == str(body["id"])
    login = api_env.client().post(
        "/api/v1/auth/login", json={"username": "tuan.nv", "password": STRONG}
    )
    assert login.status_code == 200


def test_weak_passwords_bad_names_and_taken_names_are_refused(api_env: ApiEnv) -> None:
    admin = api_env.login(api_env.user(Role.admin))
    base = {"username": "lan.tt", "password": STRONG, "roles": ["operator"]}
    weak = admin.post(USERS, json=base | {"password": "matkhau123456"})
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "weak_password"
    bad = admin.post(USERS, json=base | {"username": "Lan TT"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    assert "username" in bad.json()["error"]["message_en"]
    assert admin.post(USERS, json=base).status_code == 201
    taken = admin.post(USERS, json=base)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "username_taken"
    no_role = admin.post(USERS, json=base | {"username": "x.y.z", "roles": []})
    assert no_role.status_code == 422


def test_roles_change_at_once_without_a_new_login(api_env: ApiEnv) -> None:
    user = api_env.user(Role.operator)
    client = api_env.login(user)
    admin = api_env.login(api_env.user(Role.admin))
    assert client.get("/api/v1/review/queue").status_code == 200
    changed = admin.patch(f"{USERS}/{user.id}", json={"roles": ["leader"]})
    assert changed.status_code == 200 and changed.json()["roles"] == ["leader"]
    assert client.get("/api/v1/review/queue").status_code == 403


def test_the_last_admin_cannot_be_removed(api_env: ApiEnv) -> None:
    me = api_env.user(Role.admin)
    admin = api_env.login(me)
    refused = admin.patch(f"{USERS}/{me.id}", json={"roles": ["operator"]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "last_admin"
    assert admin.patch(f"{USERS}/{me.id}", json={"is_active": False}).status_code == 409
    other = api_env.user(Role.admin)
    assert admin.patch(f"{USERS}/{other.id}", json={"is_active": False}).status_code == 200


def test_an_admin_resets_a_password_and_the_user_logs_in_with_it(api_env: ApiEnv) -> None:
    user = api_env.user(Role.operator)
    old_session = api_env.login(user)
    admin = api_env.login(api_env.user(Role.admin))
    assert admin.post(f"{USERS}/{user.id}/password", json={"password": STRONG}).status_code == 204
    assert old_session.get("/api/v1/auth/me").status_code == 401
    fresh = api_env.client().post(
        "/api/v1/auth/login", json={"username": user.username, "password": PASSWORD}
    )
    assert fresh.status_code == 401
    assert api_env.login(user, password=STRONG).get("/api/v1/auth/me").status_code == 200


def test_roles_are_listed_with_their_vietnamese_names(api_env: ApiEnv) -> None:
    admin = api_env.login(api_env.user(Role.admin))
    roles = {r["role"]: r for r in admin.get("/api/v1/roles").json()}
    assert set(roles) == {r.value for r in Role}
    assert roles["police_officer"]["label_vi"] == "Cán bộ CSGT"
    assert "evidence.view" not in roles["leader"]["permissions"]


def test_unknown_users_are_404(api_env: ApiEnv) -> None:
    admin = api_env.login(api_env.user(Role.admin))
    assert admin.get(f"{USERS}/4242").status_code == 404
    assert admin.get(f"{USERS}/{2**40}").status_code == 422
