"""The police in a real browser: an officer claims and confirms a case, a lead records the
penalty decision; the database and the audit chain agree. An operator is kept out."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, select

from central_server.models import AuditEvent, Violation, ViolationStatus, utcnow
from central_server.roles import Actor, Role
from central_server.workflow.models import PoliceRecord, PoliceRecordKind
from central_server.workflow.service import Action, transition
from tests.browser.conftest import LoginAs
from tests.browser.support import VIEWPORT, LiveServer, screenshot


def _approved_case(server: LiveServer, **overrides: object) -> int:
    case_id = server.seed(**overrides)
    operator = server.user(Role.operator)
    actor = Actor(operator.id, operator.username, frozenset({Role.operator}))
    with server.env.db.session() as session:
        transition(session, violation_id=case_id, action=Action.approve, actor=actor, now=utcnow())
    return case_id


def _done(page: Page, step: str) -> None:
    expect(page).to_have_url(re.compile(rf"\?done={step}$"))


def test_an_officer_confirms_and_a_lead_records_the_decision(
    live_server: LiveServer, page: Page, login_as: LoginAs, browser: Browser
) -> None:
    case_id = _approved_case(live_server, plate="73A-456.78")
    _approved_case(live_server, minutes=-20 * 24 * 60, plate="73A-111.22")  # overdue
    _approved_case(
        live_server,
        minutes=-3 * 24 * 60,
        behaviour="no_helmet",
        vehicle="motorbike",
        plate="73-AA 345.67",
    )
    officer = login_as(Role.police_officer, full_name="Trần Văn Xác Minh")
    expect(page).to_have_url(f"{live_server.url}/police")  # the police's home
    expect(page.get_by_role("heading", name="Hàng chờ xác minh, xử lý")).to_be_visible()
    expect(page.locator("table.police-queue")).to_contain_text("73A-456.78")
    screenshot(page, "police-queue")

    page.get_by_role("link", name=f"#{case_id}").click()
    expect(page.locator(".legal")).to_contain_text("168/2024 6.9.b")
    page.get_by_role("button", name="Nhận xác minh").click()
    _done(page, "claim")
    expect(page.locator(".case-status")).to_contain_text("Trần Văn Xác Minh")
    still = page.locator(".still-scene_at img")
    expect(still).to_have_js_property("complete", True)
    assert still.evaluate("img => img.naturalWidth") > 0  # the evidence image loads
    screenshot(page, "police-case")
    page.get_by_role("button", name="Kết luận có vi phạm").click()
    _done(page, "confirm")
    page.get_by_label("Số thông báo").fill("TB-0917/CSGT")
    page.get_by_label("Hình thức").select_option("vnetraffic")
    page.get_by_role("button", name="Ghi nhận thông báo").click()
    _done(page, "notify")
    expect(page.locator(".case-records")).to_contain_text("TB-0917/CSGT")

    lead_page = browser.new_context(viewport=VIEWPORT, locale="vi-VN").new_page()
    lead = login_as(Role.police_lead, page=lead_page)
    lead_page.goto(f"{live_server.url}/police/cases/{case_id}")
    expect(lead_page.get_by_label("Số tiền phạt (đồng)")).to_have_value("19000000")
    lead_page.get_by_label("Số quyết định").fill("QĐ-2211/QĐ-XPHC")
    amount = lead_page.get_by_label("Số tiền phạt (đồng)")
    amount.fill("45000000")  # above even an organisation's range: the form refuses it
    lead_page.get_by_role("button", name="Ghi nhận quyết định").click()
    assert amount.evaluate("input => input.validity.rangeOverflow")
    expect(lead_page).to_have_url(f"{live_server.url}/police/cases/{case_id}")
    amount.fill("18000000")
    lead_page.get_by_role("button", name="Ghi nhận quyết định").click()
    _done(lead_page, "penalize")
    expect(lead_page.locator(".flash-success")).to_have_text("Đã ghi nhận quyết định xử phạt.")
    expect(lead_page.locator(".case-records")).to_contain_text("18.000.000 ₫")
    lead_page.context.close()

    with live_server.env.db.session() as session:
        violation = session.get(Violation, case_id)
        record = session.exec(
            select(PoliceRecord).where(col(PoliceRecord.kind) == PoliceRecordKind.penalty_decision)
        ).one()
        steps = session.exec(
            select(AuditEvent.action, AuditEvent.actor)
            .where(col(AuditEvent.entity_id) == str(case_id))
            .where(col(AuditEvent.action).startswith("violation."))
            .order_by(col(AuditEvent.id))
        ).all()
    assert violation is not None and violation.status is ViolationStatus.penalized
    assert violation.legal_ref == "168/2024 6.9.b"
    assert (record.reference, record.amount_vnd, record.points) == (
        "QĐ-2211/QĐ-XPHC",
        18_000_000,
        4,
    )
    assert [tuple(s) for s in steps][-4:] == [
        ("violation.claim", f"user:{officer.id}"),
        ("violation.confirm", f"user:{officer.id}"),
        ("violation.notify", f"user:{officer.id}"),
        ("violation.penalize", f"user:{lead.id}"),
    ]

    page.goto(f"{live_server.url}/police/cases/{case_id}/sheet")
    expect(page.get_by_role("heading", name="PHIẾU THÔNG TIN VI PHẠM")).to_be_visible()
    expect(page.locator(".case-sheet")).to_contain_text("QĐ-2211/QĐ-XPHC")
    page.emulate_media(media="print")
    screenshot(page, "police-sheet", full_page=True)


def test_an_operator_cannot_open_a_case_or_its_sheet(
    live_server: LiveServer, page: Page, login_as: LoginAs
) -> None:
    case_id = _approved_case(live_server)
    login_as(Role.operator)
    for path in (f"/police/cases/{case_id}", f"/police/cases/{case_id}/sheet"):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 403
        expect(page.get_by_role("heading", name="Không có quyền truy cập")).to_be_visible()
    expect(page.locator("nav.main-nav")).not_to_contain_text("Xác minh")


def test_the_police_queue_in_english(
    live_server: LiveServer, page: Page, login_as: LoginAs
) -> None:
    _approved_case(live_server)
    login_as(Role.police_lead)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Verification and handling queue")).to_be_visible()
    page.get_by_role("link", name="Tiếng Việt").click()
    heading = page.get_by_role("heading", name="Hàng chờ xác minh, xử lý")
    expect(heading).to_be_visible()
    box = heading.bounding_box()
    assert box is not None and box["width"] > 150  # the diacritics are drawn
