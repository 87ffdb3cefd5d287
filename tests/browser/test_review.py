"""The operator reviews cases in a real browser, by keyboard alone, and the database agrees."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts
from playwright.sync_api import Page, expect
from sqlmodel import col, select

from central_server.models import AuditEvent, Violation, ViolationStatus
from central_server.roles import Role
from tests.browser.conftest import LoginAs
from tests.browser.support import LiveServer, screenshot
from tests.central_server.api.harness import PASSWORD


def _case_url(server: LiveServer, case_id: int) -> re.Pattern[str]:
    return re.compile(re.escape(f"{server.url}/review/case/{case_id}") + r"(\?.*)?$")


def _claimed(page: Page) -> None:
    expect(page.locator("#claim-status")).to_contain_text("Bạn đang giữ hồ sơ đến")


def test_three_cases_reviewed_by_keyboard_alone(
    live_server: LiveServer, page: Page, login_as: LoginAs
) -> None:
    first = live_server.seed(minutes=1, plate="73A-111.11")
    second = live_server.seed(minutes=2, plate="73A-222.22")
    third = live_server.seed(minutes=3, plate="73A-333.38")
    user = login_as(Role.operator, full_name="Lê Thị Duyệt")
    expect(page).to_have_url(f"{live_server.url}/review")  # the operator's home
    expect(page.get_by_role("heading", name="Hàng chờ duyệt")).to_be_visible()
    expect(page.locator("#waiting")).to_contain_text("3 vi phạm chờ duyệt")
    screenshot(page, "review-queue")

    page.keyboard.press("Enter")  # start: claims the oldest case
    expect(page).to_have_url(_case_url(live_server, first))
    _claimed(page)
    expect(page.locator("#data-bar")).to_contain_text("Vào đỏ 2,4 giây")
    expect(page.locator("#clip")).to_have_js_property("readyState", 4)  # the clip plays
    screenshot(page, "review-case")
    page.keyboard.press("a")  # approve

    expect(page).to_have_url(_case_url(live_server, second))
    _claimed(page)
    page.keyboard.press("r")
    expect(page.locator("#reasons")).to_have_class(re.compile("active"))
    page.keyboard.press("3")  # Đèn vàng hoặc trong thời gian cho phép

    expect(page).to_have_url(_case_url(live_server, third))
    _claimed(page)
    page.keyboard.press("e")
    expect(page.locator("#plate-input")).to_be_focused()
    page.keyboard.type("73A-333.33")  # the text was selected: typing replaces it
    page.keyboard.press("Enter")
    expect(page.locator("#flash")).to_contain_text("Đã lưu biển số.")
    expect(page.locator("#plate-input")).not_to_be_focused()
    page.keyboard.press("a")

    expect(page).to_have_url(re.compile(r"/review\?done=1$"))
    expect(page.locator("#flash")).to_contain_text("Hết vi phạm chờ duyệt.")

    with live_server.env.db.session() as session:
        rows = {v.id: v for v in session.exec(select(Violation)).all()}
        actions = session.exec(
            select(AuditEvent.action, AuditEvent.entity_id).where(
                col(AuditEvent.actor) == f"user:{user.id}"
            )
        ).all()
    assert rows[first].status is ViolationStatus.approved
    assert rows[first].approved_by_user_id == user.id
    assert rows[second].status is ViolationStatus.rejected
    assert rows[second].reason_code == "amber_grace"
    assert rows[third].status is ViolationStatus.approved
    assert (rows[third].plate_printed, rows[third].plate_text) == ("73A-333.33", "73A33333")
    assert rows[third].plate_corrected_by == f"user:{user.id}"
    decisions = [(a, int(e)) for a, e in actions if a.startswith("violation.")]
    assert decisions == [
        ("violation.approve", first),
        ("violation.reject", second),
        ("violation.plate_corrected", third),
        ("violation.approve", third),
    ]
    assert {int(e) for a, e in actions if a == "review.claimed"} == {first, second, third}


def test_a_reason_that_needs_a_note_and_skipping(
    live_server: LiveServer, page: Page, login_as: LoginAs
) -> None:
    first = live_server.seed(minutes=1)
    second = live_server.seed(minutes=2)
    login_as(Role.operator)
    page.goto(f"{live_server.url}/review/case/{first}")
    _claimed(page)
    page.keyboard.press("s")  # skip: the next case comes
    expect(page).to_have_url(_case_url(live_server, second))
    _claimed(page)
    page.keyboard.press("k")  # back to the skipped one
    expect(page).to_have_url(_case_url(live_server, first))
    _claimed(page)
    page.keyboard.press("r")
    page.keyboard.press("7")  # "Lý do khác (ghi rõ)" needs a note
    expect(page.locator("#reason-note")).to_be_focused()
    page.keyboard.press("a")  # typed into the note, not an approval
    page.keyboard.type("nh trùng xe cứu hỏa")
    page.keyboard.press("Enter")
    expect(page).to_have_url(_case_url(live_server, second))
    with live_server.env.db.session() as session:
        rejected = session.get(Violation, first)
    assert rejected is not None and rejected.status is ViolationStatus.rejected
    assert (rejected.reason_code, rejected.reason_note) == ("other", "anh trùng xe cứu hỏa")


def test_english_and_vietnamese_render(
    live_server: LiveServer, page: Page, login_as: LoginAs
) -> None:
    case_id = live_server.seed(behaviour="no_helmet", vehicle="motorbike")
    login_as(Role.operator)
    page.goto(f"{live_server.url}/review/case/{case_id}")
    mark = page.locator(".experimental")
    expect(mark).to_have_text("Luật thử nghiệm")
    box = mark.bounding_box()
    assert box is not None and box["width"] > 40  # the diacritics are drawn, not tofu-empty
    expect(page.get_by_role("button", name=re.compile("Phê duyệt"))).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("button", name=re.compile("Approve"))).to_be_visible()
    expect(mark).to_have_text("Experimental rule")
    screenshot(page, "review-case-en")


def test_an_operator_cannot_open_police_pages(
    live_server: LiveServer, page: Page, login_as: LoginAs
) -> None:
    paths = {str(ctx.path) for ctx in iter_route_contexts(live_server.env.app.routes)}
    if "/police" not in paths:
        pytest.skip("the police pages (issue 9 part 2) are not installed")
    login_as(Role.operator)
    response = page.goto(f"{live_server.url}/police")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Không có quyền truy cập")).to_be_visible()
    screenshot(page, "forbidden")


def test_a_police_officer_cannot_open_the_review(
    live_server: LiveServer, page: Page, login_as: LoginAs
) -> None:
    login_as(Role.police_officer)
    response = page.goto(f"{live_server.url}/review")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Không có quyền truy cập")).to_be_visible()


def test_login_page_and_return_after_login(live_server: LiveServer, page: Page) -> None:
    case_id = live_server.seed()
    user = live_server.user(Role.operator)
    page.goto(f"{live_server.url}/review/case/{case_id}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    screenshot(page, "login")
    page.get_by_label("Tên đăng nhập").fill(user.username)
    page.get_by_label("Mật khẩu").fill("sai mật khẩu rồi")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(_case_url(live_server, case_id))
