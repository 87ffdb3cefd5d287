"""A reviewer's plate correction through the staff API: one grammar-checked, audited path.

Real app, real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set), real logins.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from central_server.models import AuditDetail, AuditEvent, Violation
from central_server.roles import Role
from tests.central_server.api.harness import ApiEnv, api_env_for, ingest_packet
from tests.factories_db import make_violation_in_state
from tests.fixtures.db import Database

LIST = "/api/v1/violations"
MACHINE = "73AA12345"  # what the test packet's box read (tests.factories)


@pytest.fixture
def api_env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    """The app on a fresh database."""
    yield from api_env_for(db, tmp_path)


def correct(env: ApiEnv, vid: int, **body: Any) -> Any:
    """PUT the plate as an operator; the response."""
    operator = env.login(env.user(Role.operator))
    return operator.put(f"{LIST}/{vid}/plate", json=body)


def car_case(env: ApiEnv) -> int:
    """A pending case whose detector saw a car."""
    with env.db.session() as session:
        return make_violation_in_state(session, "pending_review").id or 0


def corrections(env: ApiEnv) -> list[AuditEvent]:
    """The audited plate corrections, oldest first."""
    with env.db.session() as session:
        statement = select(AuditEvent).where(col(AuditEvent.action) == "violation.plate_corrected")
        return list(session.exec(statement.order_by(col(AuditEvent.id))).all())


def test_the_typed_separators_are_kept_when_the_shape_prints_them_there(api_env: ApiEnv) -> None:
    vid = car_case(api_env)  # the detector said car; the reviewer typed a motorbike's form
    body = correct(api_env, vid, plate_printed="73-A1 2346").json()
    assert (body["plate_text"], body["plate_printed"], body["plate_lines"]) == (
        "73A12346",
        "73-A1 2346",
        2,
    )


def test_a_compact_plate_gets_the_printed_form_of_its_vehicle(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)  # a motorbike
    body = correct(api_env, vid, plate_printed="73a12346").json()
    assert (body["plate_text"], body["plate_printed"], body["plate_lines"]) == (
        "73A12346",
        "73-A1 2346",
        2,
    )
    car = car_case(api_env)
    body = correct(api_env, car, plate_printed="73A12346").json()
    assert (body["plate_printed"], body["plate_lines"]) == ("73A-123.46", 1)


def test_separators_the_shape_does_not_print_are_replaced(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    body = correct(api_env, vid, plate_printed="73-A1-23.46").json()
    assert body["plate_printed"] == "73-A1 2346"


def test_a_diplomatic_plate_fits_the_grammar_without_marking(api_env: ApiEnv) -> None:
    vid = car_case(api_env)
    body = correct(api_env, vid, plate_printed="80-011-NG-01").json()
    assert (body["plate_text"], body["plate_printed"]) == ("80011NG01", "80-011-NG-01")


def test_a_plate_that_fits_no_shape_is_refused_and_nothing_changes(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    for text in ("13A-123.45", "TM-12-34", "73I-123.45"):  # unused code, no shape, `I`
        response = correct(api_env, vid, plate_printed=text)
        assert response.status_code == 422, text
        error = response.json()["error"]
        assert error["code"] == "plate_invalid"
        assert "không đúng mẫu biển số" in error["message_vi"]
        assert "non_standard" in error["message_en"]
        assert set(error["detail"]["non_standard_kinds"]) == {
            "military",
            "temporary",
            "registered_abroad",
        }
    with api_env.db.session() as session:
        violation = session.get(Violation, vid)
        assert violation is not None and violation.plate_corrected_at is None
    assert corrections(api_env) == []


def test_a_blue_plate_keeps_its_narrower_series_letters(api_env: ApiEnv) -> None:
    vid = car_case(api_env)
    refused = correct(api_env, vid, plate_printed="73N-123.45", plate_colour="blue")
    assert refused.status_code == 422
    accepted = correct(api_env, vid, plate_printed="73N-123.45", plate_colour="white")
    assert accepted.status_code == 200


def test_a_plate_marked_non_standard_is_stored_as_typed_and_audited(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    response = correct(
        api_env, vid, plate_printed="tm-12 34", non_standard="military", plate_colour="red"
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["plate_text"], body["plate_printed"], body["plate_lines"]) == (
        "TM1234",
        "TM-12 34",
        2,
    )
    assert body["plate_colour"] == "red"
    assert body["plate_candidates"][0]["text"] == MACHINE  # the machine's reading, beside it
    (event,) = corrections(api_env)
    assert event.entity_id == str(vid) and event.actor.startswith("user:")
    _, after = audit_values(api_env, event)
    assert (after["non_standard"], after["shape"]) == ("military", None)


def test_an_unknown_non_standard_kind_is_refused(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    response = correct(api_env, vid, plate_printed="TM-12-34", non_standard="pirate")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "plate_kind_unknown"


def test_a_correction_records_the_machine_reading_and_the_grammar(api_env: ApiEnv) -> None:
    vid, _ = ingest_packet(api_env)
    assert correct(api_env, vid, plate_printed="73-AA 123.46").status_code == 200
    (event,) = corrections(api_env)
    before, after = audit_values(api_env, event)
    assert after["plate_text"] == "73AA12346" and after["shape"] == "motorbike"
    assert after["machine_text"] == before["machine_text"] == MACHINE
    assert after["typed"] == "73-AA 123.46" and after["grammar"]


def audit_values(env: ApiEnv, event: AuditEvent) -> tuple[dict[str, Any], dict[str, Any]]:
    """The `before` and `after` values an audit row recorded."""
    with env.db.session() as session:
        detail = session.get(AuditDetail, event.id)
        assert detail is not None
        before, after = detail.before, detail.after
    assert isinstance(before, dict) and isinstance(after, dict)
    return before, after
