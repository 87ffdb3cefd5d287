from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from central_server.models import AuditEvent
from central_server.roles import Role
from tests.central_server.api.harness import SITE_ID, ApiEnv, ingest_packet
from tests.factories import FIXED_TIME
from tests.factories_db import make_site, make_violation_in_state

LIST = "/api/v1/violations"


def _case(env: ApiEnv, vid: int) -> str:
    return f"{LIST}/{vid}"


def _act(client: Any, vid: int, action: str, **body: Any) -> Any:
    return client.post(f"{LIST}/{vid}/transitions", json={"action": action, **body})


def _audits(env: ApiEnv, action: str) -> list[AuditEvent]:
    with env.db.session() as session:
        statement = select(AuditEvent).where(col(AuditEvent.action) == action)
        return list(session.exec(statement.order_by(col(AuditEvent.id))).all())


def test_a_case_shows_its_evidence_and_each_view_is_audited(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    operator = api_env.login(api_env.user(Role.operator))
    case = operator.get(_case(api_env, vid)).json()
    assert case["status"] == "pending_review" and case["status_vi"] == "Chờ duyệt"
    assert "approve" in case["allowed_actions"]
    parts = {p["role"]: p for p in case["parts"]}
    assert parts["scene_at"]["url"] == f"{LIST}/{vid}/media/scene_at"
    media = operator.get(parts["scene_at"]["url"])
    assert media.status_code == 200
    assert media.headers["content-type"] == "image/jpeg"
    assert media.headers["x-content-sha256"] == parts["scene_at"]["sha256"]
    assert "no-store" in media.headers["cache-control"]
    views = _audits(api_env, "evidence.viewed")
    assert [v.entity_id for v in views] == [str(vid), str(vid)]
    assert case["history"][0]["action"] == "violation.ingested"


def test_the_clip_streams_in_ranges(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    officer = api_env.login(api_env.user(Role.police_officer))
    whole = officer.get(f"{LIST}/{vid}/media/clip")
    part = officer.get(f"{LIST}/{vid}/media/clip", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206
    assert part.content == whole.content[:10]


def test_leaders_see_cases_but_not_the_images(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    leader = api_env.login(api_env.user(Role.leader))
    case = leader.get(_case(api_env, vid)).json()
    assert all(p["url"] is None for p in case["parts"])
    assert leader.get(f"{LIST}/{vid}/media/scene_at").status_code == 403


def test_a_missing_or_dropped_part_is_404(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    operator = api_env.login(api_env.user(Role.operator))
    response = operator.get(f"{LIST}/{vid}/media/rider_crop")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "media_not_found"


def test_the_approver_may_not_verify_the_same_case(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    both = api_env.login(api_env.user(Role.operator, Role.police_officer))
    assert _act(both, vid, "approve").status_code == 200
    refused = _act(both, vid, "claim")
    assert refused.status_code == 403
    assert "phê duyệt" in refused.json()["error"]["message_vi"]
    other = api_env.login(api_env.user(Role.police_officer))
    claimed = _act(other, vid, "claim")
    assert claimed.status_code == 200 and claimed.json()["status"] == "verifying"


def test_acting_on_a_stale_version_is_409(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    first = api_env.login(api_env.user(Role.operator))
    second = api_env.login(api_env.user(Role.operator))
    version = first.get(_case(api_env, vid)).json()["version"]
    assert _act(first, vid, "approve", expected_version=version).status_code == 200
    late = _act(second, vid, "reject", expected_version=version, reason_code="not_a_violation")
    assert late.status_code == 409
    assert late.json()["error"]["message_vi"].startswith("Vi phạm vừa được người khác cập nhật")


def test_two_people_acting_at_once_one_wins_the_other_gets_409(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    clients = [api_env.login(api_env.user(Role.operator)) for _ in range(2)]
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def approve(client: Any) -> None:
        barrier.wait()
        codes.append(_act(client, vid, "approve").status_code)

    threads = [
        threading.Thread(target=approve, args=(c,), name=f"approver-{i}")
        for i, c in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409]
    assert len(_audits(api_env, "violation.approve")) == 1


def test_a_rejection_needs_a_reason(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    operator = api_env.login(api_env.user(Role.operator))
    missing = _act(operator, vid, "reject")
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "reason_required"
    reasons = operator.get("/api/v1/reason-codes", params={"purpose": "reject"}).json()
    code = next(r["code"] for r in reasons if not r["requires_note"])
    rejected = _act(operator, vid, "reject", reason_code=code)
    assert rejected.status_code == 200 and rejected.json()["reason_code"] == code


def test_the_list_filters_by_state_plate_site_ward_and_date(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    with api_env.db.session() as session:
        other_site = make_site(session, ward="Phường Đồng Sơn").id
        approved = make_violation_in_state(
            session,
            "approved",
            site_id=other_site,
            plate_text="73A12345",
            occurred_at=FIXED_TIME - timedelta(days=3),
            detected_at=FIXED_TIME,
        ).id
    client = api_env.login(api_env.user(Role.police_lead))

    def ids(**params: Any) -> list[int]:
        response = client.get(LIST, params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert set(ids()) == {vid, approved}
    assert ids(status="approved") == [approved]
    assert ids(status=["approved", "pending_review"], order="oldest") == [approved, vid]
    assert ids(plate="73A-123.45") == [approved]
    assert ids(site_id=SITE_ID) == [vid]
    assert ids(ward="Phường Đồng Sơn") == [approved]
    assert ids(occurred_from=(FIXED_TIME - timedelta(days=1)).isoformat()) == [vid]
    assert client.get(LIST, params={"occurred_from": "2025-03-01T00:00:00"}).status_code == 422


def test_the_list_pages(api_env: ApiEnv) -> None:
    with api_env.db.session() as session:
        for _ in range(3):
            make_violation_in_state(session, "pending_review")
    client = api_env.login(api_env.user(Role.operator))
    first = client.get(LIST, params={"limit": 2}).json()
    second = client.get(LIST, params={"limit": 2, "offset": first["next_offset"]}).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    assert len(second["items"]) == 1 and second["next_offset"] is None


def test_scoped_users_see_only_their_sites_and_wards(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    with api_env.db.session() as session:
        elsewhere = make_violation_in_state(session, "pending_review").id or 0
    scoped = api_env.login(api_env.user(Role.operator, scopes=["Phường Đồng Hới"]))
    items = scoped.get(LIST).json()["items"]
    assert [i["id"] for i in items] == [vid]
    refused = scoped.get(_case(api_env, elsewhere))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "out_of_scope"


def test_claims_filter_and_hold_a_case_for_one_reviewer(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    alice, bob = (api_env.user(Role.operator) for _ in range(2))
    a, b = api_env.login(alice), api_env.login(bob)
    held = a.post(f"{LIST}/{vid}/claim")
    assert held.status_code == 200 and held.json()["user_id"] == alice.id
    assert b.post(f"{LIST}/{vid}/claim").status_code == 409
    assert [i["id"] for i in b.get(LIST, params={"claimed": True}).json()["items"]] == [vid]
    assert b.get(LIST, params={"claimed_by": alice.id}).json()["items"][0]["review_claim"]
    assert b.get("/api/v1/review/queue").json()["items"] == []  # held by alice
    assert b.put(f"{LIST}/{vid}/plate", json={"plate_printed": "73A-999.99"}).status_code == 409
    assert a.delete(f"{LIST}/{vid}/claim").status_code == 204
    nxt = b.post("/api/v1/review/next")
    assert nxt.status_code == 200 and nxt.json()["id"] == vid
    assert b.post(f"{LIST}/{vid}/claim/renew").status_code == 200
    assert b.post("/api/v1/review/next").json()["id"] == vid  # one's own claim first


def test_the_queue_says_when_it_is_empty(api_env: ApiEnv) -> None:
    operator = api_env.login(api_env.user(Role.operator))
    assert operator.post("/api/v1/review/next").status_code == 204


def test_a_plate_correction_is_audited(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    operator = api_env.login(api_env.user(Role.operator))
    response = operator.put(
        f"{LIST}/{vid}/plate", json={"plate_printed": "73a-123.46", "plate_colour": "yellow"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["plate_text"], body["plate_printed"]) == ("73A12346", "73A-123.46")
    assert body["plate_corrected_by"].startswith("user:")
    (event,) = _audits(api_env, "violation.plate_corrected")
    assert event.entity_id == str(vid)


def test_the_police_record_an_identified_owner(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    operator = api_env.login(api_env.user(Role.operator))
    officer = api_env.login(api_env.user(Role.police_officer))
    for client, action in ((operator, "approve"), (officer, "claim"), (officer, "confirm")):
        assert _act(client, vid, action).status_code == 200
    record = officer.post(
        f"{LIST}/{vid}/records",
        json={
            "kind": "owner_identified",
            "data": {"reference": "CSDL-ĐK 12/3", "date": "2025-03-01"},
        },
    )
    assert record.status_code == 201, record.text
    listed = operator.get(f"{LIST}/{vid}/records").json()
    assert [r["kind"] for r in listed] == ["owner_identified"]
    bad = officer.post(f"{LIST}/{vid}/records", json={"kind": "owner_identified", "data": {}})
    assert bad.status_code == 422
