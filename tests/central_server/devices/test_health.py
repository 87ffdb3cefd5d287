"""Applying heartbeats and last wills to a box's device row, health and online history."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import col, select

from central_server.devices.health import StatusRecorder
from central_server.devices.models_health import (
    DeviceDaily,
    DeviceHealth,
    DeviceOnlineInterval,
    IntervalEnd,
)
from central_server.models import Device, utcnow
from protocol.enums import DeviceState
from protocol.status import encode_status
from protocol.topics import Topics
from tests.central_server.devices.fleet_helpers import (
    T0,
    THRESHOLDS,
    beat,
    enrol,
    heartbeat,
    minutes,
    offline,
)
from tests.fixtures.db import Database

BOX = "dh-cam-001"


def _intervals(db: Database, device_id: str = BOX) -> list[DeviceOnlineInterval]:
    with db.session() as session:
        statement = (
            select(DeviceOnlineInterval)
            .where(col(DeviceOnlineInterval.device_id) == device_id)
            .order_by(col(DeviceOnlineInterval.started_at))
        )
        return list(session.exec(statement).all())


def test_a_heartbeat_updates_the_device_row_and_opens_an_online_interval(db: Database) -> None:
    with db.session() as session:
        enrol(session, BOX)
        beat(session, BOX, T0, depth=4, offset_ms=-12.5, problems=("dark",), temperature_c=63.0)
    with db.session() as session:
        health = session.get(DeviceHealth, BOX)
        device = session.get(Device, BOX)
        day = session.get(DeviceDaily, (BOX, T0.date()))
    assert health is not None and device is not None and day is not None
    assert health.state is DeviceState.online and health.online
    assert (health.fps_in, health.fps_processed, health.detection_latency_ms) == (25.0, 12.0, 40.0)
    assert (health.outbox_depth, health.clock_offset_ms) == (4, -12.5)
    assert health.camera_problems == ["dark"] and health.temperature_c == 63.0
    assert health.software_version == "0.3.1" and health.last_heartbeat_at == T0
    assert device.last_seen_at == T0 and device.status_json is not None
    assert device.status_json["state"] == "online"
    assert (day.heartbeats, day.max_outbox_depth, day.max_temperature_c) == (1, 4, 63.0)
    [interval] = _intervals(db)
    assert interval.started_at == T0 and interval.ended_at is None


def test_the_last_will_marks_the_box_offline_and_closes_its_interval(db: Database) -> None:
    with db.session() as session:
        enrol(session, BOX)
        beat(session, BOX, T0)
        beat(session, BOX, T0 + minutes(1))
        # The broker publishes the will it was given at connect: sent_at is the connect time.
        beat(session, BOX, T0 + minutes(3), offline(BOX, T0 - minutes(1)))
    with db.session() as session:
        health = session.get(DeviceHealth, BOX)
        device = session.get(Device, BOX)
        day = session.get(DeviceDaily, (BOX, T0.date()))
    assert health is not None and device is not None and day is not None
    assert not health.online and health.state is DeviceState.offline
    assert health.offline_since == T0 + minutes(3)
    assert device.last_seen_at == T0 + minutes(1)  # a will is no sign of life
    assert device.status_json is not None and device.status_json["state"] == "offline"
    assert day.offline_events == 1
    [interval] = _intervals(db)
    assert interval.ended_at == T0 + minutes(3) and interval.end_reason is IntervalEnd.offline


def test_a_box_back_after_going_offline_gets_a_new_interval(db: Database) -> None:
    with db.session() as session:
        enrol(session, BOX)
        beat(session, BOX, T0)
        beat(session, BOX, T0 + minutes(5), offline(BOX, T0))
        beat(session, BOX, T0 + minutes(30))
    first, second = _intervals(db)
    assert first.ended_at == T0 + minutes(5)
    assert second.started_at == T0 + minutes(30) and second.ended_at is None


def test_a_status_older_than_the_last_applied_one_is_skipped(db: Database) -> None:
    """Two ingest workers may take a box's messages out of order."""
    with db.session() as session:
        enrol(session, BOX)
        beat(session, BOX, T0 + minutes(2), depth=9)
        beat(session, BOX, T0 + minutes(1), offline(BOX, T0))
    with db.session() as session:
        health = session.get(DeviceHealth, BOX)
    assert health is not None and health.online and health.outbox_depth == 9
    assert [i.ended_at for i in _intervals(db)] == [None]


def test_a_retained_heartbeat_counts_from_when_the_box_sent_it(db: Database) -> None:
    """Redelivered on subscribing, an old heartbeat must not make a dead box look alive now."""
    sent = T0 - minutes(90)
    with db.session() as session:
        enrol(session, BOX)
        beat(session, BOX, T0, heartbeat(BOX, sent), retained=True)
    with db.session() as session:
        health = session.get(DeviceHealth, BOX)
        device = session.get(Device, BOX)
    assert health is not None and device is not None
    assert health.last_heartbeat_at == sent and device.last_seen_at == sent


@pytest.mark.parametrize("revoked", [False, True], ids=["unknown", "revoked"])
def test_status_of_an_unknown_or_revoked_box_changes_nothing(db: Database, revoked: bool) -> None:
    with db.session() as session:
        if revoked:
            enrol(session, BOX, revoked_at=T0 - minutes(60))
        assert beat(session, BOX, T0) is None
    with db.session() as session:
        assert session.exec(select(DeviceHealth)).all() == []
        assert session.exec(select(DeviceOnlineInterval)).all() == []


def test_the_recorder_applies_good_messages_and_drops_bad_ones(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with db.session() as session:
        enrol(session, BOX)
        enrol(session, "dh-cam-002")
    recorder = StatusRecorder(db.engine, THRESHOLDS, Topics())
    topic = Topics().status(BOX)
    with caplog.at_level(logging.WARNING):
        recorder.handle(topic, b"{not json", utcnow(), False)
        recorder.handle(topic, encode_status(heartbeat("dh-cam-002", T0)), T0, False)
        recorder.handle(Topics().evidence(BOX), encode_status(heartbeat(BOX, T0)), T0, False)
        recorder.handle(topic, b"", T0, True)  # a cleared retained message
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 3
    with db.session() as session:
        assert session.exec(select(DeviceHealth)).all() == []
    recorder.handle(topic, encode_status(heartbeat(BOX, T0, depth=2)), T0, False)
    with db.session() as session:
        health = session.get(DeviceHealth, BOX)
    assert health is not None and health.outbox_depth == 2
