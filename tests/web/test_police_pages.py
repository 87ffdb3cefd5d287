"""The police pages over HTTP: who may open them, what they show, and the steps they drive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from central_server.accounts.models import User
from central_server.models import AuditEvent, Violation, ViolationStatus
from central_server.roles import Actor, Role
from central_server.workflow.models import PoliceRecord, PoliceRecordKind
from central_server.workflow.service import Action, transition
from tests.central_server.api.harness import ApiEnv
from tests.web.conftest import PageAs, Seed
from tests.web.seed import BASE_TIME
from tests.web.steps import api_call, decide


@pytest.fixture(autouse=True)
def _clock_after_the_cases(web_env: ApiEnv) -> None:
    """The app's clock two hours after the seeded cases' time (20/11/2026 08:30 in Vietnam)."""
    web_env.clock.now = BASE_TIME + timedelta(hours=2)


def approve(env: ApiEnv, case_id: int) -> User:
    """Approve a seeded case as a fresh operator."""
    return decide(env, case_id, Action.approve)


def test_the_queue_lists_approved_cases_overdue_first(
    web_env: ApiEnv, page_as: PageAs, seed: Seed
) -> None:
    recent, old = (
        seed(minutes=0, plate="73A-111.11"),
        seed(minutes=-60 * 24 * 30, plate="73A-222.22"),
    )
    approve(web_env, recent)
    approve(web_env, old)
    pending = seed(minutes=5, plate="73A-333.33")
    client, _ = page_as(Role.police_officer)
    page = client.get("/police")
    assert page.status_code == 200
    html = page.text
    assert "Hàng chờ xác minh" in html
    assert html.index("73A-222.22") < html.index("73A-111.11")  # overdue notice first
    assert html.count('class="row-overdue"') == 1
    assert "73A-333.33" not in html and f"/police/cases/{pending}" not in html


def test_only_police_open_the_police_pages(web_env: ApiEnv, page_as: PageAs, seed: Seed) -> None:
    case_id = seed()
    approve(web_env, case_id)
    for role in (Role.operator, Role.leader, Role.auditor, Role.technician, Role.admin):
        client, _ = page_as(role)
        for url in ("/police", f"/police/cases/{case_id}", f"/police/cases/{case_id}/sheet"):
            response = client.get(url)
            assert response.status_code == 403, (role, url)
            assert "Không có quyền truy cập" in response.text
    anonymous = web_env.client().get("/police", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")


def test_an_officer_claims_and_confirms_with_the_catalogue_clause(
    web_env: ApiEnv, page_as: PageAs, seed: Seed
) -> None:
    case_id = seed(plate="73A-123.45")
    approve(web_env, case_id)
    client, officer = page_as(Role.police_officer)
    page = client.get(f"/police/cases/{case_id}").text
    assert 'data-action="claim"' in page
    assert "168/2024 6.9.b" in page and "18.000.000 ₫" in page and "20.000.000 ₫" in page
    assert f"/api/v1/violations/{case_id}/media/scene_at" in page
    assert f"/api/v1/violations/{case_id}/export" in page
    api_call(client, "POST", f"/api/v1/violations/{case_id}/transitions", {"action": "claim"})
    page = client.get(f"/police/cases/{case_id}?done=claim").text
    assert "Đã nhận xác minh vụ việc." in page
    assert 'data-action="confirm"' in page and 'data-action="dismiss"' in page
    api_call(client, "POST", f"/api/v1/violations/{case_id}/transitions", {"action": "confirm"})
    with web_env.db.session() as session:
        violation = session.get(Violation, case_id)
        assert violation is not None and violation.status is ViolationStatus.confirmed
        assert violation.legal_ref == "168/2024 6.9.b"
        actions = session.exec(
            select(col(AuditEvent.action), col(AuditEvent.actor)).where(
                col(AuditEvent.entity_id) == str(case_id)
            )
        ).all()
    assert ("violation.confirm", f"user:{officer.id}") in actions
    assert ("evidence.viewed", f"user:{officer.id}") in actions  # opening the page is a view


def test_the_approver_is_not_offered_the_claim(
    web_env: ApiEnv, page_as: PageAs, seed: Seed
) -> None:
    case_id = seed()
    client, both = page_as(Role.operator, Role.police_officer)
    actor = Actor(both.id, both.username, frozenset({Role.operator}))
    with web_env.db.session() as session:
        transition(
            session, violation_id=case_id, action=Action.approve, actor=actor, now=web_env.clock()
        )
    page = client.get(f"/police/cases/{case_id}").text
    assert 'data-action="claim"' not in page


def test_a_lead_records_the_penalty_decision(web_env: ApiEnv, page_as: PageAs, seed: Seed) -> None:
    case_id = seed()
    approve(web_env, case_id)
    officer_client, _ = page_as(Role.police_officer)
    base = f"/api/v1/violations/{case_id}/transitions"
    api_call(officer_client, "POST", base, {"action": "claim"})
    api_call(officer_client, "POST", base, {"action": "confirm"})
    day = (web_env.clock() + timedelta(hours=7)).date().isoformat()
    notice = {"number": "TB-01/2026", "date": day, "channel": "paper"}
    api_call(officer_client, "POST", base, {"action": "notify", "data": notice})
    lead_client, lead = page_as(Role.police_lead)
    page = lead_client.get(f"/police/cases/{case_id}").text
    assert 'data-action="penalize"' in page
    assert 'value="19000000"' in page  # the middle of 18–20 million, prefilled
    decision = {"number": "QĐ-77", "date": day, "amount_vnd": 19_000_000, "points": 4}
    api_call(lead_client, "POST", base, {"action": "penalize", "data": decision})
    page = lead_client.get(f"/police/cases/{case_id}?done=penalize").text
    assert "Đã ghi nhận quyết định xử phạt." in page
    assert "QĐ-77" in page and "19.000.000 ₫" in page
    with web_env.db.session() as session:
        record = session.exec(
            select(PoliceRecord).where(col(PoliceRecord.kind) == PoliceRecordKind.penalty_decision)
        ).one()
        assert (record.reference, record.amount_vnd, record.points) == ("QĐ-77", 19_000_000, 4)
        assert record.recorded_by == f"user:{lead.id}"


def test_the_case_sheet_prints_photos_facts_and_law(
    web_env: ApiEnv, page_as: PageAs, seed: Seed
) -> None:
    case_id = seed(plate="73A-123.45")
    approve(web_env, case_id)
    client, _ = page_as(Role.police_lead)
    sheet = client.get(f"/police/cases/{case_id}/sheet")
    assert sheet.status_code == 200
    html = sheet.text
    assert "PHIẾU THÔNG TIN VI PHẠM" in html
    assert f"/api/v1/violations/{case_id}/media/plate_crop" in html
    assert "168/2024 6.9.b" in html and "73A-123.45" in html
    assert "20/11/2026 08:30" in html  # the violation's time in Vietnam
    english = client.get(f"/police/cases/{case_id}/sheet?lang=en").text
    assert "CASE SHEET" in english
