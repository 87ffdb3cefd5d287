from __future__ import annotations

from sqlmodel import col, select

from central_server.models import AuditEvent
from central_server.roles import Role
from tests.central_server.api.harness import ApiEnv


def _actions(env: ApiEnv) -> list[str]:
    with env.db.session() as session:
        return list(session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all())


def test_sites_and_units_are_edited_by_admins_and_read_by_all(api_env: ApiEnv) -> None:
    admin = api_env.login(api_env.user(Role.admin))
    unit = admin.post(
        "/api/v1/units",
        json={
            "name": "Phòng CSGT Công an tỉnh Quảng Trị",
            "kind": "police",
            "address": "Đồng Hới",
            "phone": "0232 3822 000",
        },
    )
    assert unit.status_code == 201
    site = {
        "id": "dh-ly-thuong-kiet-01",
        "name": "Ngã tư Lý Thường Kiệt – Trần Hưng Đạo",
        "ward": "Phường Đồng Hới",
        "province": "Quảng Trị",
        "lat": 17.4689,
        "lon": 106.6223,
        "handling_unit_id": unit.json()["id"],
    }
    assert admin.post("/api/v1/sites", json=site).status_code == 201
    assert admin.post("/api/v1/sites", json=site).status_code == 409
    technician = api_env.login(api_env.user(Role.technician))
    listed = technician.get("/api/v1/sites").json()
    assert [s["id"] for s in listed] == ["dh-ly-thuong-kiet-01"]
    moved = {k: v for k, v in site.items() if k != "id"} | {"ward": "Phường Đồng Thuận"}
    assert technician.put(f"/api/v1/sites/{site['id']}", json=moved).status_code == 403
    assert (
        admin.put(f"/api/v1/sites/{site['id']}", json=moved).json()["ward"] == "Phường Đồng Thuận"
    )
    bad_unit = moved | {"handling_unit_id": 4242}
    assert admin.put(f"/api/v1/sites/{site['id']}", json=bad_unit).status_code == 422
    assert {"unit.created", "site.created", "site.updated"} <= set(_actions(api_env))


def test_the_holiday_calendar_is_edited_by_admins(api_env: ApiEnv) -> None:
    admin = api_env.login(api_env.user(Role.admin))
    day = "2027-02-08"
    saved = admin.put(f"/api/v1/holidays/{day}", json={"name_vi": "Nghỉ Tết Nguyên đán"})
    assert saved.status_code == 200 and saved.json()["updated_by"].startswith("user:")
    days = [h["day"] for h in admin.get("/api/v1/holidays", params={"year": 2027}).json()]
    assert day in days
    assert admin.delete(f"/api/v1/holidays/{day}").status_code == 204
    assert admin.delete(f"/api/v1/holidays/{day}").status_code == 404
    assert "holiday.saved" in _actions(api_env)


def test_reason_codes_and_deadline_rules_are_data(api_env: ApiEnv) -> None:
    admin = api_env.login(api_env.user(Role.admin))
    saved = admin.put(
        "/api/v1/reason-codes/fog",
        json={"label_vi": "Sương mù, ảnh mờ", "label_en": "Fog", "applies_to": ["reject"]},
    )
    assert saved.status_code == 200
    operator = api_env.login(api_env.user(Role.operator))
    codes = [r["code"] for r in operator.get("/api/v1/reason-codes?purpose=reject").json()]
    assert "fog" in codes
    rule = {"kind": "notice", "effective_from": "2027-01-01", "amount": 15, "unit": "days"}
    assert admin.post("/api/v1/deadline-rules", json=rule).status_code == 200
    rules = operator.get("/api/v1/deadline-rules").json()
    assert any(r["effective_from"] == "2027-01-01" and r["amount"] == 15 for r in rules)


def test_the_audit_log_is_read_and_verified_by_auditors(api_env: ApiEnv) -> None:
    auditor = api_env.login(api_env.user(Role.auditor))
    events = auditor.get("/api/v1/audit/events", params={"action": "auth.login"}).json()
    assert events and events[0]["after"]["ip"] == "testclient"
    report = auditor.get("/api/v1/audit/verify").json()
    assert report["ok"] is True and report["events_checked"] >= 1
