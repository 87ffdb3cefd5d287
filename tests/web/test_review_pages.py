"""The operator's queue and case page as an operator sees them (HTTP, no browser)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlmodel import col, select

from central_server.accounts.service import actor_for
from central_server.models import AuditEvent
from central_server.roles import Role
from central_server.web import review_view
from central_server.workflow.service import Action, claim_for_review, transition
from protocol.enums import BehaviourCode
from tests.central_server.api.harness import ApiEnv
from tests.web.conftest import PageAs, Seed
from tests.web.seed import ensure_site

PAGE_LIMIT_BYTES = 150 * 1024


def _script_data(html: str) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="review-data">(.*?)</script>', html, re.S
    )
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def _case_links(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<td><a href="/review/case/(\d+)', html)]


def test_the_queue_lists_the_oldest_first_and_counts_them(page_as: PageAs, seed: Seed) -> None:
    late, early, middle = seed(minutes=30), seed(minutes=1), seed(minutes=10)
    client, _ = page_as(Role.operator)
    html = client.get("/review").text
    assert _case_links(html) == [early, middle, late]
    assert re.search(r"<strong>3</strong> vi phạm chờ duyệt", html)
    assert "20/11/2026 08:31" in html  # 01:31 UTC shown in Asia/Ho_Chi_Minh
    assert "Không chấp hành hiệu lệnh của đèn tín hiệu giao thông" in html


def test_the_queue_filters_by_site_ward_type_and_day(
    page_as: PageAs, seed: Seed, web_env: ApiEnv
) -> None:
    with web_env.db.session() as session:
        ensure_site(session, "qb-02", name="Ngã tư Quang Trung", ward="Phường Nam Lý")
    red = seed(minutes=1)
    helmet = seed(minutes=2, behaviour=BehaviourCode.no_helmet)
    elsewhere = seed(minutes=3, site_id="qb-02")
    next_day = seed(minutes=24 * 60)
    client, _ = page_as(Role.operator)
    assert _case_links(client.get("/review?site=qb-02").text) == [elsewhere]
    assert _case_links(client.get("/review?ward=Phường Nam Lý").text) == [elsewhere]
    assert _case_links(client.get("/review?behaviour=no_helmet").text) == [helmet]
    day = client.get("/review?day=20/11/2026").text
    assert _case_links(day) == [red, helmet, elsewhere]
    assert next_day not in _case_links(day)
    assert re.search(r"<strong>3</strong>", day)
    # Unknown values are ignored rather than refused.
    assert len(_case_links(client.get("/review?behaviour=nonsense&day=31-12").text)) == 4
    data = _script_data(client.get("/review?site=qb-02&day=2026-11-20").text)
    assert "site_id=qb-02" in data["api_query"]
    assert "occurred_from=2026-11-20T00%3A00%3A00%2B07%3A00" in data["api_query"]


def test_the_case_page_shows_the_evidence_and_the_signed_facts(
    page_as: PageAs, seed: Seed, web_env: ApiEnv
) -> None:
    case_id = seed(minutes=1)
    client, user = page_as(Role.operator)
    response = client.get(f"/review/case/{case_id}")
    html = response.text
    assert len(response.content) <= PAGE_LIMIT_BYTES
    # The data bar: time in Vietnam, place, behaviour, time into red, from the signed facts.
    bar = html.split('id="data-bar"')[1].split("</figcaption>")[0]
    assert "20/11/2026 08:31:00" in bar
    assert "Ngã tư Lê Lợi – Trần Hưng Đạo, Phường Đồng Hới" in bar
    assert "Vào đỏ 2,4 giây" in bar
    for role in ("scene_at", "scene_before", "scene_after", "plate_crop", "clip"):
        assert f"/api/v1/violations/{case_id}/media/{role}" in html
    assert "<video" in html
    assert 'value="73A-123.45"' in html  # the editable plate
    assert "91%" in html and "42%" in html  # the machine's candidates
    for fact in ("Pha đèn", "Đỏ", "Thiết bị", "dh-cam-ui-01", "ssd_mobilenet_v2", "đã đồng bộ"):
        assert fact in html, fact
    data = _script_data(html)
    assert [r["key"] for r in data["reasons"]] == list(range(1, len(data["reasons"]) + 1))
    assert data["reasons"][-1] == {"key": 7, "code": "other", "requires_note": True}
    assert data["reasons"][0]["code"] == "unreadable_plate"
    assert data["version"] == 1 and data["pending"] is True
    with web_env.db.session() as session:
        viewed = session.exec(
            select(AuditEvent).where(
                col(AuditEvent.action) == "evidence.viewed",
                col(AuditEvent.entity_id) == str(case_id),
            )
        ).all()
    assert [e.actor for e in viewed] == [f"user:{user.id}"]


def test_the_english_case_page(page_as: PageAs, seed: Seed) -> None:
    case_id = seed()
    client, _ = page_as(Role.operator)
    html = client.get(f"/review/case/{case_id}?lang=en").text
    for text in ("Approve", "Reject", "Skip", "Failing to obey traffic signals", "Plate"):
        assert text in html, text
    assert "2.4 s" in html


def test_an_experimental_rule_is_marked(page_as: PageAs, seed: Seed) -> None:
    helmet = seed(behaviour=BehaviourCode.no_helmet, vehicle="motorbike")
    red = seed(minutes=1)
    client, _ = page_as(Role.operator)
    assert "Luật thử nghiệm" in client.get(f"/review/case/{helmet}").text
    assert "Luật thử nghiệm" not in client.get(f"/review/case/{red}").text
    assert "Mũ bảo hiểm" in client.get(f"/review/case/{helmet}").text


def test_neighbours_in_the_queue(page_as: PageAs, seed: Seed) -> None:
    first, second, third = seed(minutes=1), seed(minutes=2), seed(minutes=3)
    client, _ = page_as(Role.operator)
    data = _script_data(client.get(f"/review/case/{second}").text)
    assert (data["prev_id"], data["next_id"]) == (first, third)
    edge = _script_data(client.get(f"/review/case/{first}").text)
    assert (edge["prev_id"], edge["next_id"]) == (None, second)


def test_a_case_held_by_another_reviewer_shows_who_and_until_when(
    page_as: PageAs, seed: Seed, web_env: ApiEnv
) -> None:
    case_id = seed()
    other = web_env.user(Role.operator, full_name="Nguyễn Thị Hoa")
    with web_env.db.session() as session:
        claim_for_review(
            session, violation_id=case_id, actor=actor_for(other), now=web_env.clock.now
        )
    client, _ = page_as(Role.operator)
    html = client.get(f"/review/case/{case_id}").text
    assert "Đang được cán bộ khác duyệt đến" in html
    assert "Nguyễn Thị Hoa" in html
    data = _script_data(html)
    assert data["claim"]["mine"] is False and data["claim"]["holder"] == "Nguyễn Thị Hoa"


def test_a_decided_case_is_read_only(page_as: PageAs, seed: Seed, web_env: ApiEnv) -> None:
    case_id = seed()
    client, user = page_as(Role.operator)
    with web_env.db.session() as session:
        transition(
            session,
            violation_id=case_id,
            action=Action.approve,
            actor=actor_for(user),
            now=web_env.clock.now,
        )
    html = client.get(f"/review/case/{case_id}").text
    assert "Đã phê duyệt, chuyển Công an" in html
    assert 'id="btn-approve" disabled' in html
    assert _script_data(html)["pending"] is False


def test_a_missing_case_is_a_404_page(page_as: PageAs) -> None:
    client, _ = page_as(Role.operator)
    response = client.get("/review/case/999999")
    assert response.status_code == 404
    assert "Không tìm thấy vi phạm 999999." in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_a_case_outside_the_reviewers_scope_is_refused(page_as: PageAs, seed: Seed) -> None:
    case_id = seed()
    client, _ = page_as(Role.operator, scopes=["Phường Khác"])
    response = client.get(f"/review/case/{case_id}")
    assert response.status_code == 403
    assert "ngoài phạm vi" in response.text
    assert _case_links(client.get("/review").text) == []


def test_a_long_queue_is_counted_up_to_a_cap(
    page_as: PageAs, seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    for minutes in range(3):
        seed(minutes=minutes)
    monkeypatch.setattr(review_view, "WAITING_CAP", 2)
    client, _ = page_as(Role.operator)
    assert re.search(r"<strong>2\+</strong> vi phạm chờ duyệt", client.get("/review").text)
