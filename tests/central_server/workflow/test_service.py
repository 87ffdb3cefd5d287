"""transition(): the table of DESIGN.md, who may act, reasons, data, audit and publication."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, col, select

from central_server.audit import verify_chain
from central_server.errors import AppError
from central_server.models import AuditDetail, AuditEvent, Violation, ViolationStatus
from central_server.roles import Actor, Role
from central_server.workflow.models import PoliceRecord, PoliceRecordKind, PublishedViolation
from central_server.workflow.service import Action, transition
from protocol.enums import BehaviourCode, VehicleClass
from tests.central_server.workflow.conftest import (
    Staff,
    act,
    drive,
    make_actor,
    notice,
    payment,
    penalty,
)
from tests.factories_db import make_site, make_violation
from tests.fixtures.db import Database

S = ViolationStatus


def _new_case(db: Database, **overrides: object) -> int:
    with db.session() as session:
        violation_id = make_violation(session, **overrides).id
    assert violation_id is not None
    return violation_id


def _refused(
    db: Database, status: int, violation_id: int, action: Action, actor: Actor, **kwargs: object
) -> AppError:
    with pytest.raises(AppError) as caught:
        act(db, violation_id, action, actor, **kwargs)
    assert caught.value.status_code == status, caught.value.message_en
    return caught.value


def _audit_actions(db: Database, violation_id: int) -> list[str]:
    with db.session() as session:
        events = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.entity_type) == "violation")
            .where(col(AuditEvent.entity_id) == str(violation_id))
            .order_by(col(AuditEvent.id))
        ).all()
        return [event.action for event in events]


def test_a_case_goes_from_review_to_payment_and_every_step_is_audited(
    db: Database, staff: Staff
) -> None:
    violation_id = _new_case(db)
    drive(db, staff, violation_id, S.penalized)
    paid = act(db, violation_id, Action.pay, staff.officer, data=payment())
    assert paid.status is S.paid
    assert paid.approved_by_user_id == staff.operator.user_id
    assert paid.claimed_by_user_id == staff.officer.user_id
    assert paid.legal_ref == "168/2024 6.9.b"
    assert _audit_actions(db, violation_id) == [
        "violation.approve",
        "violation.claim",
        "violation.confirm",
        "violation.notify",
        "violation.penalize",
        "violation.pay",
    ]
    with db.session() as session:
        kinds = [r.kind for r in session.exec(select(PoliceRecord).order_by(col(PoliceRecord.id)))]
        assert kinds == [
            PoliceRecordKind.notice,
            PoliceRecordKind.penalty_decision,
            PoliceRecordKind.payment,
        ]
        assert verify_chain(session).ok


def test_the_audit_event_names_the_actor_and_the_change(db: Database, staff: Staff) -> None:
    violation_id = _new_case(db)
    act(db, violation_id, Action.approve, staff.operator)
    with db.session() as session:
        event = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "violation.approve")
        ).one()
        detail = session.get(AuditDetail, event.id)
    assert event.actor == f"user:{staff.operator.user_id}"
    assert detail is not None
    assert detail.before == {"status": "pending_review", "version": 1}
    assert detail.after == {"status": "approved", "version": 2}


@pytest.mark.parametrize(
    ("action", "who"),
    [
        (Action.approve, "officer"),
        (Action.approve, "admin"),
        (Action.approve, "auditor"),
        (Action.reject, "lead"),
    ],
)
def test_only_operators_decide_on_review(
    db: Database, staff: Staff, action: Action, who: str
) -> None:
    violation_id = _new_case(db)
    _refused(db, 403, violation_id, action, getattr(staff, who), reason_code="duplicate")
    with db.session() as session:
        stored = session.get(Violation, violation_id)
        assert stored is not None and stored.status is S.pending_review


def test_the_approver_may_not_verify_even_holding_both_roles(db: Database) -> None:
    with db.session() as session:
        both = make_actor(session, Role.operator, Role.police_officer)
        violation_id = make_violation(session).id
    assert violation_id is not None
    act(db, violation_id, Action.approve, both)
    error = _refused(db, 403, violation_id, Action.claim, both)
    assert "approver" in error.message_en


def test_acting_on_a_case_in_the_wrong_state_is_a_conflict_with_a_clear_message(
    db: Database, staff: Staff
) -> None:
    violation_id = _new_case(db)
    act(db, violation_id, Action.approve, staff.operator)
    error = _refused(db, 409, violation_id, Action.approve, staff.operator2)
    assert error.code == "invalid_transition"
    assert "Đã phê duyệt" in error.message_vi
    assert error.detail["status"] == "approved"


def test_a_stale_version_is_a_conflict(db: Database, staff: Staff) -> None:
    violation_id = _new_case(db)
    error = _refused(db, 409, violation_id, Action.approve, staff.operator, expected_version=7)
    assert error.code == "stale_version"
    assert act(db, violation_id, Action.approve, staff.operator, expected_version=1).version == 2


def test_an_unknown_case_is_not_found(db: Database, staff: Staff) -> None:
    _refused(db, 404, 999_999, Action.approve, staff.operator)


def test_rejection_needs_a_valid_reason_and_other_needs_a_note(db: Database, staff: Staff) -> None:
    violation_id = _new_case(db)
    assert _refused(db, 422, violation_id, Action.reject, staff.operator).code == "reason_required"
    bogus = _refused(db, 422, violation_id, Action.reject, staff.operator, reason_code="bogus")
    assert bogus.code == "unknown_reason"
    # A reason meant for reopening does not justify a rejection.
    _refused(db, 422, violation_id, Action.reject, staff.operator, reason_code="new_evidence")
    other = _refused(db, 422, violation_id, Action.reject, staff.operator, reason_code="other")
    assert other.code == "note_required"
    rejected = act(
        db, violation_id, Action.reject, staff.operator, reason_code="other", note="Xe tang lễ"
    )
    assert (rejected.status, rejected.reason_code, rejected.reason_note) == (
        S.rejected,
        "other",
        "Xe tang lễ",
    )


def test_only_the_claimant_concludes_and_the_claimant_or_a_lead_releases(
    db: Database, staff: Staff
) -> None:
    violation_id = _new_case(db)
    drive(db, staff, violation_id, S.verifying)
    _refused(db, 403, violation_id, Action.confirm, staff.officer2)
    _refused(db, 403, violation_id, Action.dismiss, staff.officer2, reason_code="duplicate")
    _refused(db, 403, violation_id, Action.release, staff.officer2)
    assert act(db, violation_id, Action.release, staff.lead).status is S.approved
    act(db, violation_id, Action.claim, staff.officer2)
    assert act(db, violation_id, Action.release, staff.officer2).claimed_by_user_id is None


def test_confirming_needs_a_plate_and_records_the_clause_in_force(
    db: Database, staff: Staff
) -> None:
    no_plate = _new_case(db, plate_text=None)
    drive(db, staff, no_plate, S.verifying)
    assert _refused(db, 422, no_plate, Action.confirm, staff.officer).code == "plate_required"
    motorbike = _new_case(
        db, vehicle_class=VehicleClass.motorbike, behaviour=BehaviourCode.no_helmet
    )
    assert drive(db, staff, motorbike, S.confirmed).legal_ref == "168/2024 7.2.h"


def test_notice_penalty_and_payment_need_their_data(db: Database, staff: Staff) -> None:
    violation_id = _new_case(db)
    drive(db, staff, violation_id, S.confirmed)
    missing = _refused(db, 422, violation_id, Action.notify, staff.officer, data={})
    assert set(missing.detail["fields"]) == {"number", "date", "channel"}
    future = notice() | {"date": "2099-01-01"}
    assert _refused(db, 422, violation_id, Action.notify, staff.officer, data=future).code == (
        "invalid_date"
    )
    act(db, violation_id, Action.notify, staff.officer, data=notice())
    cheap = _refused(db, 422, violation_id, Action.penalize, staff.lead, data=penalty(100_000))
    assert cheap.code == "fine_out_of_range" and "18.000.000" in cheap.message_vi
    too_many = _refused(db, 422, violation_id, Action.penalize, staff.lead, data=penalty(points=6))
    assert too_many.code == "points_out_of_range"
    _refused(db, 403, violation_id, Action.penalize, staff.officer, data=penalty())
    assert act(db, violation_id, Action.penalize, staff.lead, data=penalty()).status is S.penalized


def test_only_the_scheduler_expires_and_only_after_the_limitation_period(
    db: Database, staff: Staff
) -> None:
    violation_id = _new_case(db)
    drive(db, staff, violation_id, S.confirmed)
    _refused(db, 403, violation_id, Action.expire, staff.admin)
    scheduler = Actor.system("scheduler")
    assert _refused(db, 409, violation_id, Action.expire, scheduler).code == "not_expired"
    later = datetime.now(timezone.utc) + timedelta(days=367)
    assert act(db, violation_id, Action.expire, scheduler, now=later).status is S.expired
    assert _audit_actions(db, violation_id)[-1] == "violation.expire"
    with db.session() as session:
        assert session.get(PublishedViolation, violation_id) is None


def test_an_admin_reopens_with_a_reason(db: Database, staff: Staff) -> None:
    violation_id = _new_case(db)
    act(db, violation_id, Action.reject, staff.operator, reason_code="duplicate")
    _refused(db, 403, violation_id, Action.reopen_review, staff.operator, reason_code="other")
    _refused(db, 422, violation_id, Action.reopen_review, staff.admin)
    reopened = act(
        db, violation_id, Action.reopen_approved, staff.admin, reason_code="decision_error"
    )
    assert (reopened.status, reopened.approved_by_user_id) == (S.approved, staff.admin.user_id)
    assert act(db, violation_id, Action.claim, staff.officer).status is S.verifying


def test_an_actor_limited_to_other_sites_may_not_act(db: Database, staff: Staff) -> None:
    with db.session() as session:
        elsewhere = make_site(session, ward="Phường Đồng Sơn")
        scoped = make_actor(session, Role.operator, scopes=frozenset({elsewhere.id}))
        by_ward = make_actor(session, Role.operator, scopes=frozenset({"Phường Đa Kao"}))
        violation_id = make_violation(session).id  # a site in Phường Đa Kao
    assert violation_id is not None
    assert _refused(db, 403, violation_id, Action.approve, scoped).code == "out_of_scope"
    assert act(db, violation_id, Action.approve, by_ward).status is S.approved


def test_a_failed_transition_changes_nothing(db: Database, staff: Staff) -> None:
    violation_id = _new_case(db)
    drive(db, staff, violation_id, S.confirmed)
    before = _audit_actions(db, violation_id)
    _refused(db, 422, violation_id, Action.notify, staff.officer, data={"number": "1"})
    with db.session() as session:
        stored = session.get(Violation, violation_id)
        assert stored is not None and (stored.status, stored.version) == (S.confirmed, 4)
        assert session.exec(select(PoliceRecord)).all() == []
    assert _audit_actions(db, violation_id) == before


def test_transition_leaves_the_commit_to_the_caller(db: Database, staff: Staff) -> None:
    violation_id = _new_case(db)
    with Session(db.engine) as session:
        transition(session, violation_id=violation_id, action=Action.approve, actor=staff.operator)
        # The request fails after the transition: the session closes without committing.
    with db.session() as session:
        stored = session.get(Violation, violation_id)
        assert stored is not None and stored.status is S.pending_review
        assert session.exec(select(AuditEvent)).all() == []
