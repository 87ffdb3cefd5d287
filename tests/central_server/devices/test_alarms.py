"""Fleet alarms: raised once, refreshed while the cause lasts, cleared when it goes."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from central_server.devices import alarms
from central_server.devices.health_jobs import check_fleet
from central_server.devices.models_health import (
    AlarmCode,
    DeviceAlarm,
    DeviceHealth,
    DeviceOnlineInterval,
    IntervalEnd,
)
from central_server.models import Device, SequenceGap
from tests.central_server.devices.fleet_helpers import T0, THRESHOLDS, beat, enrol, minutes
from tests.fixtures.db import Database

BOX = "dh-cam-001"


def _alarms(db: Database, code: AlarmCode | None = None) -> list[DeviceAlarm]:
    with db.session() as session:
        statement = select(DeviceAlarm).order_by(col(DeviceAlarm.id))
        if code is not None:
            statement = statement.where(col(DeviceAlarm.code) == code)
        return list(session.exec(statement).all())


def _check(db: Database, now: datetime) -> dict[str, int]:
    with db.session() as session:
        return check_fleet(session, now, THRESHOLDS)


def _enrolled(db: Database, *device_ids: str) -> None:
    with db.session() as session:
        for device_id in device_ids or (BOX,):
            enrol(session, device_id)


# ---------------------------------------------------------------- the rules


def test_the_outbox_rule_wants_growth_without_a_dip_over_the_whole_window() -> None:
    assert alarms.outbox_rule([1, 2, 3], 3) is not None
    assert alarms.outbox_rule([1, 1, 3], 3) is not None  # a steady stretch still grows overall
    assert alarms.outbox_rule([1, 3, 2], 3) is None
    assert alarms.outbox_rule([2, 2, 2], 3) is None
    assert alarms.outbox_rule([1, 2], 3) is None  # not enough heartbeats yet


def test_the_clock_rule_flags_either_direction_beyond_the_bound() -> None:
    assert alarms.clock_rule(1500.0, 1000) is not None
    assert alarms.clock_rule(-1500.0, 1000) is not None
    assert alarms.clock_rule(999.0, 1000) is None
    assert alarms.clock_rule(None, 1000) is None


def test_the_gap_rule_counts_missing_packets() -> None:
    finding = alarms.gap_rule([(5, 7), (10, 10)])
    assert finding is not None and finding.detail["missing"] == 4
    assert "4" in finding.message_vi and "4" in finding.message_en
    assert alarms.gap_rule([]) is None


# ---------------------------------------------------------------- heartbeat-driven alarms


def test_clock_drift_raises_one_alarm_however_often_it_is_reported(db: Database) -> None:
    _enrolled(db)
    with db.session() as session:
        beat(session, BOX, T0, offset_ms=2500)
        beat(session, BOX, T0 + minutes(1), offset_ms=3100)
    [alarm] = _alarms(db)
    assert alarm.code is AlarmCode.clock_drift and alarm.cleared_at is None
    assert alarm.detail["offset_ms"] == 3100 and "3100 ms" in alarm.message_vi
    with db.session() as session:
        beat(session, BOX, T0 + minutes(2), offset_ms=20)
    [alarm] = _alarms(db)
    assert alarm.cleared_at == T0 + minutes(2)


def test_a_growing_outbox_raises_and_a_shrinking_one_clears(db: Database) -> None:
    _enrolled(db)
    with db.session() as session:
        for n, depth in enumerate([2, 5, 9]):
            beat(session, BOX, T0 + minutes(n), depth=depth)
    [alarm] = _alarms(db, AlarmCode.outbox_growing)
    assert alarm.detail["depths"] == [2, 5, 9] and alarm.cleared_at is None
    with db.session() as session:
        beat(session, BOX, T0 + minutes(3), depth=4)
    [alarm] = _alarms(db, AlarmCode.outbox_growing)
    assert alarm.cleared_at == T0 + minutes(3)


def test_a_camera_fault_is_an_alarm_while_it_lasts(db: Database) -> None:
    _enrolled(db)
    with db.session() as session:
        beat(session, BOX, T0, problems=("frozen",))
        beat(session, BOX, T0 + minutes(1))
    [alarm] = _alarms(db)
    assert alarm.code is AlarmCode.camera_problem and alarm.detail["problems"] == ["frozen"]
    assert alarm.cleared_at == T0 + minutes(1)


def test_dropped_evidence_alarms_and_clears_after_a_quiet_period(db: Database) -> None:
    _enrolled(db)
    with db.session() as session:
        beat(session, BOX, T0, dropped=(0, 0, 0))
        beat(session, BOX, T0 + minutes(1), dropped=(2, 1, 0))
        beat(session, BOX, T0 + minutes(2), dropped=(2, 1, 0))  # nothing new: still one alarm
    [alarm] = _alarms(db)
    assert alarm.code is AlarmCode.evidence_dropped and alarm.detail["newly_dropped"] == 3
    _check(db, T0 + minutes(30))
    assert _alarms(db)[0].cleared_at is None
    _check(db, T0 + minutes(62))  # an hour (THRESHOLDS) after the last drop, heartbeats going
    assert _alarms(db)[0].cleared_at == T0 + minutes(62)


# ---------------------------------------------------------------- the fleet check


def test_a_silent_box_times_out_then_raises_an_offline_alarm_that_its_return_clears(
    db: Database,
) -> None:
    _enrolled(db)
    with db.session() as session:
        beat(session, BOX, T0)
    assert _check(db, T0 + minutes(1)).get("timed_out", 0) == 0
    assert _check(db, T0 + minutes(3))["timed_out"] == 1
    with db.session() as session:
        [interval] = session.exec(select(DeviceOnlineInterval)).all()
        health = session.get(DeviceHealth, BOX)
    assert interval.ended_at == T0 and interval.end_reason is IntervalEnd.timeout
    assert health is not None and not health.online and health.offline_since == T0
    _check(db, T0 + minutes(9))
    assert _alarms(db) == []  # offline, not yet for longer than 10 minutes
    _check(db, T0 + minutes(11))
    [alarm] = _alarms(db)
    assert alarm.code is AlarmCode.offline and alarm.detail["offline_since"] == T0.isoformat()
    _check(db, T0 + minutes(20))
    assert len(_alarms(db)) == 1  # deduplicated
    with db.session() as session:
        beat(session, BOX, T0 + minutes(25))
    assert _alarms(db)[0].cleared_at == T0 + minutes(25)


def test_sequence_gaps_raise_an_alarm_until_the_packets_arrive(db: Database) -> None:
    _enrolled(db)
    with db.session() as session:
        for low, high in ((10, 12), (20, 20)):
            session.add(SequenceGap(device_id=BOX, from_seq=low, to_seq=high))
    _check(db, T0)
    [alarm] = _alarms(db)
    assert alarm.code is AlarmCode.sequence_gap and alarm.detail["missing"] == 4
    with db.session() as session:
        for gap in session.exec(select(SequenceGap)).all():
            gap.resolved_at = T0 + minutes(5)
            session.add(gap)
    _check(db, T0 + minutes(6))
    assert _alarms(db)[0].cleared_at == T0 + minutes(6)


def test_a_revoked_box_has_no_alarms_left_open(db: Database) -> None:
    _enrolled(db)
    with db.session() as session:
        beat(session, BOX, T0, offset_ms=5000)
    with db.session() as session:
        _revoke(session, BOX, T0 + minutes(1))
    _check(db, T0 + minutes(30))
    assert [a.cleared_at for a in _alarms(db)] == [T0 + minutes(30)]


def _revoke(session: Session, device_id: str, at: datetime) -> None:
    device = session.get(Device, device_id)
    assert device is not None
    device.revoked_at = at
    session.add(device)


def test_the_database_refuses_a_second_open_alarm_of_one_code(db: Database) -> None:
    """The partial unique index behind the deduplication."""
    _enrolled(db)
    with db.session() as session:
        finding = alarms.clock_rule(5000.0, 1000)
        assert finding is not None
        alarms.raise_alarm(session, BOX, finding, T0)
        alarms.clear_alarm(session, BOX, AlarmCode.clock_drift, T0 + minutes(1))
        alarms.raise_alarm(session, BOX, finding, T0 + minutes(2))  # after clearing: a new one
    assert [a.cleared_at for a in _alarms(db)] == [T0 + minutes(1), None]
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(
            DeviceAlarm(
                device_id=BOX,
                code=AlarmCode.clock_drift,
                message_vi="x",
                message_en="x",
                raised_at=T0,
                updated_at=T0,
            )
        )
