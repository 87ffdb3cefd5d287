from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import text
from sqlmodel import select

from central_server import audit
from central_server.models import GENESIS_HASH, AuditDetail, AuditEvent, AuditHead
from tests.fixtures.db import Database


def _append_three(db: Database) -> list[AuditEvent]:
    with db.session() as session:
        return [
            audit.append(
                session,
                actor="user:7",
                action="violation.approve",
                entity_type="violation",
                entity_id=n,
                before={"status": "pending_review", "plate": "51F-123.45"},
                after={"status": "approved", "ghi_chú": "Đã xác minh biển số"},
            )
            for n in (1, 2, 3)
        ]


def test_appends_link_each_event_to_the_previous_one(db: Database) -> None:
    events = _append_three(db)
    assert [e.id for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    with db.session() as session:
        head = session.get(AuditHead, 1)
        report = audit.verify_chain(session)
    assert head is not None and (head.last_event_id, head.last_hash) == (3, events[-1].hash)
    assert report == audit.ChainReport(ok=True, events_checked=3)


def test_the_stored_values_hash_to_the_recorded_digests(db: Database) -> None:
    event = _append_three(db)[0]
    with db.session() as session:
        detail = session.get(AuditDetail, event.id)
    assert detail is not None
    assert detail.after == {"status": "approved", "ghi_chú": "Đã xác minh biển số"}
    expected = '{"ghi_chú":"Đã xác minh biển số","status":"approved"}'
    assert event.after_sha256 == hashlib.sha256(expected.encode("utf-8")).hexdigest()


def test_the_hash_rule_is_the_documented_one() -> None:
    """Pinned, so that an outside verifier written from the docstring keeps agreeing."""
    at = datetime(2025, 3, 18, 0, 30, 15, 120000, tzinfo=timezone.utc)
    documented = (
        '["tw-audit-v1",5,"2025-03-18T00:30:15.120000Z","user:7","violation.approve",'
        f'"violation","42","{"a" * 64}",null,"{"b" * 64}"]'
    )
    computed = audit.event_hash(
        event_id=5,
        at=at,
        actor="user:7",
        action="violation.approve",
        entity_type="violation",
        entity_id="42",
        before_sha256="a" * 64,
        after_sha256=None,
        prev_hash="b" * 64,
    )
    assert computed == hashlib.sha256(documented.encode("utf-8")).hexdigest()


def _tamper_at(kind: str) -> str:
    if kind == "sqlite":
        return "UPDATE audit_event SET at = '2001-01-01 00:00:00.000000' WHERE id = 2"
    return "UPDATE audit_event SET at = at + interval '1 second' WHERE id = 2"


TAMPERING = {
    "actor": ("UPDATE audit_event SET actor = 'user:99' WHERE id = 2", "content"),
    "action": ("UPDATE audit_event SET action = 'violation.reject' WHERE id = 2", "content"),
    "entity_type": ("UPDATE audit_event SET entity_type = 'device' WHERE id = 2", "content"),
    "entity_id": ("UPDATE audit_event SET entity_id = '9' WHERE id = 2", "content"),
    "before_sha256": (
        f"UPDATE audit_event SET before_sha256 = '{'f' * 64}' WHERE id = 2",
        "before_sha256",
    ),
    "after_sha256": (
        f"UPDATE audit_event SET after_sha256 = '{'f' * 64}' WHERE id = 2",
        "after_sha256",
    ),
    "prev_hash": (f"UPDATE audit_event SET prev_hash = '{'f' * 64}' WHERE id = 2", "prev_hash"),
    "hash": (f"UPDATE audit_event SET hash = '{'f' * 64}' WHERE id = 2", "hash"),
    "detail.before": (
        """UPDATE audit_detail SET before = '{"status": "rejected"}' WHERE event_id = 2""",
        "detail.before",
    ),
    "detail.after": ("""UPDATE audit_detail SET after = '{}' WHERE event_id = 2""", "detail.after"),
}


@pytest.mark.parametrize("column", ["at", *TAMPERING])
def test_tampering_any_column_is_caught_and_named(db: Database, column: str) -> None:
    _append_three(db)
    sql, field = (_tamper_at(db.kind), "content") if column == "at" else TAMPERING[column]
    with db.engine.begin() as conn:
        conn.execute(text(sql))
    with db.session() as session:
        report = audit.verify_chain(session)
    assert not report.ok
    assert (report.first_broken_event_id, report.field) == (2, field)
    assert report.events_checked == 1
    assert report.reason


def test_tampering_an_id_is_caught(db: Database) -> None:
    _append_three(db)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_detail WHERE event_id = 3"))
        conn.execute(text("UPDATE audit_event SET id = 4 WHERE id = 3"))
    with db.session() as session:
        report = audit.verify_chain(session)
    assert (report.ok, report.first_broken_event_id, report.field) == (False, 4, "id")


def test_deleting_a_middle_event_is_caught(db: Database) -> None:
    _append_three(db)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_detail WHERE event_id = 2"))
        conn.execute(text("DELETE FROM audit_event WHERE id = 2"))
    with db.session() as session:
        report = audit.verify_chain(session)
    assert (report.ok, report.first_broken_event_id, report.field) == (False, 3, "id")
    assert "2" in (report.reason or "")


def test_deleting_the_latest_event_is_caught_by_the_head(db: Database) -> None:
    _append_three(db)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_detail WHERE event_id = 3"))
        conn.execute(text("DELETE FROM audit_event WHERE id = 3"))
    with db.session() as session:
        report = audit.verify_chain(session)
    assert (report.ok, report.first_broken_event_id, report.field) == (False, 3, "head")


def test_purging_details_keeps_the_chain_valid(db: Database) -> None:
    _append_three(db)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_detail WHERE event_id = 1"))
        conn.execute(text("UPDATE audit_detail SET before = NULL WHERE event_id = 2"))
    with db.session() as session:
        assert audit.verify_chain(session).ok


def test_an_empty_chain_is_valid(db: Database) -> None:
    with db.session() as session:
        assert audit.verify_chain(session) == audit.ChainReport(ok=True, events_checked=0)


def test_append_leaves_the_transaction_to_the_caller(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as session:
        audit.append(
            session,
            actor="system:ingest",
            action="packet.store",
            entity_type="packet",
            entity_id="x",
        )
        raise RuntimeError("the caller's work failed")
    with db.session() as session:
        assert session.exec(select(AuditEvent)).all() == []
        assert audit.verify_chain(session).ok


def test_values_that_are_not_json_are_recorded_canonically(db: Database) -> None:
    when = datetime(2025, 3, 18, 7, 0, tzinfo=timezone.utc)
    with db.session() as session:
        event = audit.append(
            session,
            actor="device:dev-0001",
            action="device.heartbeat",
            entity_type="device",
            entity_id="dev-0001",
            after={"seen_at": when, "statuses": {"b", "a"}},
        )
    with db.session() as session:
        detail = session.get(AuditDetail, event.id)
        assert detail is not None
        assert detail.after == {"seen_at": "2025-03-18T07:00:00.000000Z", "statuses": ["a", "b"]}
        assert audit.verify_chain(session).ok


def test_concurrent_appends_form_one_unbroken_chain(db: Database) -> None:
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            for n in range(50):
                with db.session() as session:
                    audit.append(
                        session,
                        actor=f"system:{name}",
                        action="tick",
                        entity_type="test",
                        entity_id=n,
                    )
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",), name=f"audit-w{i}") for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.session() as session:
        report = audit.verify_chain(session)
        actors = [e.actor for e in session.exec(select(AuditEvent))]
    assert report == audit.ChainReport(ok=True, events_checked=100)
    assert sorted(set(actors)) == ["system:w1", "system:w2"]
