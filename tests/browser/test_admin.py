"""Administration in a real browser: an admin creates an account through the form; the leaders'
dashboard, the devices and the audit browser (its chain check) render; TOTP enrolment shows a QR."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import col, select

from central_server.accounts.models import User
from central_server.devices.models_health import DeviceHealth
from central_server.models import Device, utcnow
from central_server.roles import Role
from tests.browser.conftest import LoginAs
from tests.browser.support import LiveServer, screenshot


def test_an_admin_creates_an_account(
    live_server: LiveServer, page: Page, login_as: LoginAs
) -> None:
    login_as(Role.admin, full_name="Quản Trị Viên")
    expect(page).to_have_url(f"{live_server.url}/admin/users")  # the admin's home
    form = page.locator("form.api-form")
    form.get_by_label("Tên đăng nhập").fill("csgt.hoa")
    form.get_by_label("Họ tên").fill("Phạm Thị Hoà")
    form.get_by_label("Mật khẩu ban đầu").fill("Sông Nhật Lệ chảy qua Đồng Hới")
    form.get_by_label("Cán bộ CSGT").check()
    screenshot(page, "admin-users")
    form.get_by_role("button", name="Tạo tài khoản").click()
    expect(page).to_have_url(re.compile(r"/admin/users/\d+\?done=user_created$"))
    expect(page.locator("#flash")).to_contain_text("Đã tạo tài khoản.")
    expect(page.get_by_role("heading", name="csgt.hoa · Phạm Thị Hoà")).to_be_visible()
    with live_server.env.db.session() as session:
        user = session.exec(select(User).where(col(User.username) == "csgt.hoa")).one()
    assert user.roles == ["police_officer"] and user.full_name == "Phạm Thị Hoà"
    assert user.is_active and user.created_by.startswith("user:")

    page.get_by_role("link", name="Nhật ký").first.click()
    page.get_by_role("button", name="Kiểm tra toàn vẹn chuỗi nhật ký").click()
    expect(page.locator("#verify-result")).to_contain_text("Chuỗi nhật ký toàn vẹn")
    expect(page.locator("table.audit-events")).to_contain_text("user.created")
    screenshot(page, "admin-audit")


def test_dashboard_devices_and_totp_enrolment(
    live_server: LiveServer, page: Page, login_as: LoginAs
) -> None:
    live_server.seed(plate="73A-999.99")
    with live_server.env.db.session() as session:
        session.add(
            Device(id="dh-cam-02", camera_id="west", enrolled_by="test", last_seen_at=utcnow())
        )
        session.flush()
        session.add(
            DeviceHealth(
                device_id="dh-cam-02",
                online=True,
                fps_in=25.0,
                fps_processed=12.0,
                outbox_depth=2,
                outbox_bytes=1_500_000,
                disk_free_bytes=9 * 1024**3,
                disk_total_bytes=32 * 1024**3,
                temperature_c=58.0,
                clock_synced=True,
                clock_offset_ms=2.0,
            )
        )
    login_as(Role.leader)
    expect(page).to_have_url(f"{live_server.url}/dashboard")  # the leader's home
    expect(page.get_by_role("heading", name="Thống kê vi phạm")).to_be_visible()
    expect(page.locator(".cards")).to_contain_text("1/2")  # the seeded site's box never spoke
    assert page.locator("img, video").count() == 0  # figures only
    expect(page.locator("main")).not_to_contain_text("73A-999.99")
    screenshot(page, "dashboard", full_page=True)

    page.goto(f"{live_server.url}/admin/devices")
    expect(page.locator("table.devices")).to_contain_text("25,0 / 12,0")
    screenshot(page, "admin-devices")

    page.goto(f"{live_server.url}/account")
    page.get_by_role("button", name="Bật xác thực hai lớp").click()
    expect(page.get_by_role("img", name="QR TOTP")).to_be_visible()
    expect(page.locator("#totp-secret")).to_have_text(re.compile(r"^[A-Z2-7]{32}$"))
    screenshot(page, "account-totp")
