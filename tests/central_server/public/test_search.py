"""The search answers exactly, with only the allowed fields, and only for published cases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from central_server.models import ViolationStatus
from central_server.public.schemas import HandlingUnit, PublicViolation
from central_server.public.settings import PublicSettings
from protocol.enums import VehicleClass
from tests.central_server.api.harness import ApiEnv
from tests.central_server.public.conftest import SEARCH, Publish, resync

S = ViolationStatus
PUBLISHED = {
    S.confirmed: "Chưa xử phạt",
    S.notified: "Chưa xử phạt",
    S.penalized: "Đã xử phạt",
    S.paid: "Đã xử phạt",
    S.closed: "Đã xử phạt",
}
ALLOWED_KEYS = set(PublicViolation.model_fields)
HANDLING_KEYS = set(HandlingUnit.model_fields)


@pytest.fixture(autouse=True)
def _no_rate_limit(public_env: ApiEnv) -> None:
    """These tests are about answers, not limits (test_limits.py covers those)."""
    public_env.app.state.public.settings = PublicSettings(_env_file=None, burst=10_000)


def _search(env: ApiEnv, plate: str, vehicle_type: str = "oto", page: int = 1) -> dict[str, Any]:
    query: dict[str, str | int] = {"plate": plate, "vehicle_type": vehicle_type, "page": page}
    response = env.client().get(SEARCH, params=query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_each_state_shows_only_the_allowed_fields_or_nothing(
    public_env: ApiEnv, publish: Publish
) -> None:
    plates = {status: f"73A{10000 + i}" for i, status in enumerate(S)}
    for status, plate in plates.items():
        publish(status, plate_text=plate, plate_printed=f"73A-{plate[3:6]}.{plate[6:]}")
    for status, plate in plates.items():
        body = _search(public_env, plate)
        assert set(body) == {"plate", "vehicle_type", "page", "page_size", "total", "results"}
        if status not in PUBLISHED:
            assert body["total"] == 0 and body["results"] == [], status
            continue
        [row] = body["results"]
        assert set(row) == ALLOWED_KEYS
        assert set(row["handling_unit"]) == HANDLING_KEYS
        assert row["status"] == PUBLISHED[status]
        assert row["plate"] == f"73A-{plate[3:6]}.{plate[6:]}"
        assert row["vehicle_type"] == "Ô tô"
        assert row["handling_unit"]["phone"].startswith("028")
        assert row["occurred_at"].endswith("+07:00")


def test_no_internal_value_leaks_into_the_answer(public_env: ApiEnv, publish: Publish) -> None:
    violation = publish(plate_text="73A12345", plate_printed="73A-123.45")
    text = public_env.client().get(SEARCH, params={"plate": "73A12345", "vehicle_type": "oto"}).text
    for secret in (violation.device_id, str(violation.packet_id), violation.camera_id, "site-"):
        assert secret not in text


def test_a_withdrawn_case_disappears(public_env: ApiEnv, publish: Publish) -> None:
    violation = publish(plate_text="73A12345")
    assert _search(public_env, "73A12345")["total"] == 1
    resync(public_env, violation.id or 0, S.dismissed)
    assert _search(public_env, "73A12345")["total"] == 0


@pytest.mark.parametrize(
    ("stored", "printed", "queries"),
    [
        ("73A12345", "73A-123.45", ["73a-123.45", "73A12345", "73 A 123 45", " 73A.123.45 "]),
        (
            "29MĐ101353",
            "29MĐ1-013.53",
            ["29MĐ1-013.53", "29MD1 01353", "29md101353", "29mđ1-01353"],
        ),
    ],
)
def test_plates_are_found_however_they_are_typed(
    public_env: ApiEnv, publish: Publish, stored: str, printed: str, queries: list[str]
) -> None:
    publish(plate_text=stored, plate_printed=printed, vehicle_class=VehicleClass.bicycle)
    for query in queries:
        body = _search(public_env, query, "xedapdien")
        assert [r["plate"] for r in body["results"]] == [printed], query


def test_only_an_exact_plate_matches(public_env: ApiEnv, publish: Publish) -> None:
    publish(plate_text="73A12345")
    client = public_env.client()
    for query in ["73A1234", "73A123456", "3A12345", "73A12345%", "73A*", "%", "73A_2345"]:
        response = client.get(SEARCH, params={"plate": query, "vehicle_type": "oto"})
        if response.status_code == 200:
            assert response.json()["total"] == 0, query
        else:
            assert response.status_code == 422, query
            assert response.json()["error"]["code"] == "invalid_plate", query


def test_the_vehicle_type_must_match(public_env: ApiEnv, publish: Publish) -> None:
    publish(plate_text="73A12345", vehicle_class=VehicleClass.truck)
    assert _search(public_env, "73A12345", "oto")["total"] == 1  # trucks are ô tô
    assert _search(public_env, "73A12345", "xemay")["total"] == 0


def test_results_come_newest_first_twenty_a_page(public_env: ApiEnv, publish: Publish) -> None:
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    for hour in range(23):
        publish(plate_text="73A12345", occurred_at=start + timedelta(hours=hour))
    first = _search(public_env, "73A12345")
    second = _search(public_env, "73A12345", page=2)
    assert first["total"] == second["total"] == 23
    assert len(first["results"]) == 20 and len(second["results"]) == 3
    times = [r["occurred_at"] for r in first["results"] + second["results"]]
    assert times == sorted(times, reverse=True)
    assert _search(public_env, "73A12345", page=3)["results"] == []


def test_answers_carry_cache_headers_and_honour_if_none_match(
    public_env: ApiEnv, publish: Publish
) -> None:
    publish(plate_text="73A12345")
    client = public_env.client()
    params = {"plate": "73A12345", "vehicle_type": "oto"}
    first = client.get(SEARCH, params=params)
    assert first.headers["cache-control"].startswith("public, max-age=")
    etag = first.headers["etag"]
    again = client.get(SEARCH, params=params, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    publish(plate_text="73A12345")  # a new case: a new answer, a new tag
    assert client.get(SEARCH, params=params, headers={"If-None-Match": etag}).status_code == 200


def test_errors_are_bilingual(public_env: ApiEnv) -> None:
    response = public_env.client().get(SEARCH, params={"plate": "???", "vehicle_type": "oto"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert "Biển số không hợp lệ" in error["message_vi"] and error["message_en"]
