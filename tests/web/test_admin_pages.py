"""Administration over HTTP: accounts, own TOTP, master data, devices and the audit browser."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyotp
import pytest
from sqlmodel import col, select

from central_server.accounts.models import User
from central_server.devices.models_health import AlarmCode, DeviceAlarm, DeviceHealth
from central_server.models import AuditEvent, Device
from central_server.roles import Role
from central_server.workflow.models import ReasonCode
from tests.central_server.api.harness import ApiEnv, api_env_for
from tests.factories_db import make_site, make_unit
from tests.fixtures.db import Database
from tests.web.conftest import PageAs, login_page_client
from tests.web.steps import api_call

NEW_PASSWORD = "Cầu Nhật Lệ mùa nước lên"


def test_an_admin_creates_an_account_and_changes_it(web_env: ApiEnv, page_as: PageAs) -> None:
    admin, _ = page_as(Role.admin)
    page = admin.get("/admin/users").text
    assert 'data-url="/api/v1/users"' in page and "Tạo tài khoản" in page
    body = {
        "username": "csgt.tuan",
        "full_name": "Nguyễn Văn Tuấn",
        "password": NEW_PASSWORD,
        "roles": ["police_officer"],
        "scopes": [],
    }
    created = api_call(admin, "POST", "/api/v1/users", body)
    page = admin.get(f"/admin/users/{created['id']}?done=user_created").text
    assert "Nguyễn Văn Tuấn" in page
    assert 'value="police_officer" data-list checked' in page
    api_call(admin, "PATCH", f"/api/v1/users/{created['id']}", {"is_active": False})
    listing = admin.get("/admin/users").text
    assert "csgt.tuan" in listing and "Đã khóa" in listing


def test_the_user_page_offers_unlock_and_totp_reset_when_they_apply(
    web_env: ApiEnv, page_as: PageAs
) -> None:
    locked_until = web_env.clock() + timedelta(minutes=10)
    target = web_env.user(Role.operator, failed_logins=5, locked_until=locked_until)
    admin, _ = page_as(Role.admin)
    page = admin.get(f"/admin/users/{target.id}").text
    assert f'data-url="/api/v1/users/{target.id}/unlock"' in page
    assert "/totp/reset" not in page  # no TOTP to reset
    api_call(admin, "POST", f"/api/v1/users/{target.id}/unlock")
    page = admin.get(f"/admin/users/{target.id}").text
    assert "/unlock" not in page


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.admin])
def test_only_admins_manage_accounts(page_as: PageAs, role: Role) -> None:
    client, _ = page_as(role)
    assert client.get("/admin/users").status_code == 403


def test_a_user_enrols_totp_with_a_server_drawn_qr_code(web_env: ApiEnv, page_as: PageAs) -> None:
    client, user = page_as(Role.police_officer)
    page = client.get("/account").text
    assert 'action="/account/totp"' in page
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    enrol = client.post("/account/totp", data={"csrf_token": csrf})
    assert enrol.status_code == 200
    html = enrol.text
    assert "<svg" in html and "<path d=" in html  # the QR code, drawn on the server
    secret = html.split('<code id="totp-secret">')[1].split("<")[0]
    assert "otpauth://totp/" in html
    code = pyotp.TOTP(secret).at(web_env.clock())
    api_call(client, "POST", "/api/v1/auth/me/totp/confirm", {"code": code})
    assert "Mất điện thoại" in client.get("/account").text
    with web_env.db.session() as session:
        stored = session.get(User, user.id)
        assert stored is not None and stored.totp_enabled


def test_the_totp_form_needs_its_csrf_token(page_as: PageAs) -> None:
    client, _ = page_as(Role.operator)
    response = client.post("/account/totp", data={"csrf_token": "forged"})
    assert response.status_code == 403


def test_master_data_pages_show_edit_forms_only_to_admins(web_env: ApiEnv, page_as: PageAs) -> None:
    with web_env.db.session() as session:
        unit = make_unit(session, name="Phòng CSGT Công an tỉnh Quảng Trị")
        make_site(session, id="dh-01", name="Ngã tư Hùng Vương", handling_unit_id=unit.id)
        session.add(
            ReasonCode(
                code="old_reason",
                label_vi="Lý do cũ",
                label_en="Old",
                applies_to=["reject"],
                active=False,
            )
        )
    admin, _ = page_as(Role.admin)
    operator, _ = page_as(Role.operator)
    for url in ("/admin/sites", "/admin/units", "/admin/reasons", "/admin/holidays"):
        assert "api-form" in admin.get(url).text, url
        seen = operator.get(url)
        assert seen.status_code == 200 and "api-form" not in seen.text, url
    sites = admin.get("/admin/sites").text
    assert "Ngã tư Hùng Vương" in sites and "Phòng CSGT Công an tỉnh Quảng Trị" in sites
    assert 'data-url="/api/v1/sites/dh-01"' in sites
    reasons = admin.get("/admin/reasons?lang=en").text
    assert "Old" in reasons and "Inactive" in reasons
    api_call(admin, "PUT", "/api/v1/holidays/2026-09-02", {"name_vi": "Quốc khánh"})
    holidays = admin.get("/admin/holidays?year=2026").text
    assert "02/09/2026" in holidays and "Quốc khánh" in holidays


def test_devices_show_heartbeat_figures_and_alarms(web_env: ApiEnv, page_as: PageAs) -> None:
    now = web_env.clock()
    with web_env.db.session() as session:
        session.add(Device(id="dh-cam-07", camera_id="north", enrolled_by="test", last_seen_at=now))
        session.flush()
        session.add(
            DeviceHealth(
                device_id="dh-cam-07",
                online=True,
                fps_in=25.0,
                fps_processed=12.5,
                outbox_depth=3,
                outbox_bytes=2_900_000,
                disk_free_bytes=20 * 1024**3,
                disk_total_bytes=32 * 1024**3,
                temperature_c=61.5,
                clock_synced=True,
                clock_offset_ms=1.5,
            )
        )
        session.add(
            DeviceAlarm(
                device_id="dh-cam-07",
                code=AlarmCode.evidence_dropped,
                message_vi="Đã bỏ clip vì hết dung lượng đĩa",
                message_en="Clip dropped",
                raised_at=now,
                updated_at=now,
            )
        )
    admin, _ = page_as(Role.admin)
    html = admin.get("/admin/devices").text
    assert "dh-cam-07" in html and "25,0 / 12,5" in html and "61,5 °C" in html
    assert "62% · 20,0 GB" in html  # 20 of 32 GB free
    assert "2,8 MB" in html  # in the outbox
    assert "Đã bỏ clip vì hết dung lượng đĩa" in html
    assert "/acknowledge" in html
    technician, _ = page_as(Role.technician)  # in the field: acknowledges what they fix
    assert "/acknowledge" in technician.get("/admin/devices").text
    leader, _ = page_as(Role.leader)
    seen = leader.get("/admin/devices").text
    assert "dh-cam-07" in seen and "/acknowledge" not in seen


def test_the_audit_browser_filters_by_actor_and_entity(web_env: ApiEnv, page_as: PageAs) -> None:
    admin, admin_user = page_as(Role.admin)
    api_call(admin, "PUT", "/api/v1/holidays/2026-04-30", {"name_vi": "Ngày Giải phóng miền Nam"})
    auditor, _ = page_as(Role.auditor)
    page = auditor.get(f"/admin/audit?actor={admin_user.username}&entity_type=holiday")
    assert page.status_code == 200
    html = page.text
    assert "holiday.saved" in html and "Ngày Giải phóng miền Nam" in html
    assert "auth.login" not in html
    assert 'id="verify-chain"' in html
    with web_env.db.session() as session:
        total = len(session.exec(select(col(AuditEvent.id))).all())
    assert total > 1
    day = (datetime.now(timezone.utc) + timedelta(days=3650)).date().isoformat()
    assert "Không có sự kiện nào." in auditor.get(f"/admin/audit?day_from={day}").text


@pytest.mark.parametrize("role", [Role.leader, Role.operator, Role.police_lead, Role.technician])
def test_only_auditors_and_admins_browse_the_audit_log(page_as: PageAs, role: Role) -> None:
    client, _ = page_as(role)
    assert client.get("/admin/audit").status_code == 403


def test_police_who_must_enrol_totp_can_still_reach_their_account(
    db: Database, tmp_path: Path
) -> None:
    for env in api_env_for(db, tmp_path, require_totp_for_police=True):
        officer = env.user(Role.police_officer)
        client = login_page_client(env, officer)
        refused = client.get("/police")
        assert refused.status_code == 403 and 'data-code="totp_setup_required"' in refused.text
        page = client.get("/account").text
        assert "Tài khoản Công an phải bật TOTP trước khi làm việc với hồ sơ." in page
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        assert "<svg" in client.post("/account/totp", data={"csrf_token": csrf}).text
