"""The fleet-health staff API: boxes with their health, one box's history, alarms, acknowledging."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from central_server.devices.health_jobs import check_fleet
from central_server.models import AuditEvent
from central_server.roles import Role
from tests.central_server.api.harness import ApiEnv, api_env_for
from tests.central_server.devices.fleet_helpers import T0, THRESHOLDS, beat, enrol, minutes
from tests.fixtures.db import Database

BOX, OTHER = "dh-cam-001", "dh-cam-002"


@pytest.fixture
def api_env(db: Database, tmp_path: Path) -> Iterator[ApiEnv]:
    """The app on a fresh database with two boxes: BOX online and drifting, OTHER silent."""
    with db.session() as session:
        enrol(session, BOX, created_at=T0 - minutes(60))
        enrol(session, OTHER, created_at=T0 - minutes(60))
        beat(session, BOX, T0, depth=3, offset_ms=4200)
        beat(session, BOX, T0 + minutes(1), depth=5, offset_ms=4300)
    for env in api_env_for(db, tmp_path):
        env.clock.now = T0 + minutes(2)
        yield env


def test_every_staff_role_sees_the_fleet_with_its_health(api_env: ApiEnv) -> None:
    client = api_env.as_token(api_env.user(Role.technician))
    boxes = {b["device_id"]: b for b in client.get("/api/v1/devices").json()}
    assert set(boxes) == {BOX, OTHER}
    box = boxes[BOX]
    assert (box["state"], box["online"], box["outbox_depth"]) == ("online", True, 5)
    assert box["clock_offset_ms"] == 4300 and box["open_alarms"] == 1
    assert boxes[OTHER]["state"] is None and not boxes[OTHER]["online"]
    online = client.get("/api/v1/devices", params={"online": "true"}).json()
    assert [b["device_id"] for b in online] == [BOX]


def test_a_box_history_shows_its_intervals_and_today_so_far(api_env: ApiEnv) -> None:
    client = api_env.as_token(api_env.user(Role.operator))
    body = client.get(f"/api/v1/devices/{BOX}/health", params={"days": 7}).json()
    assert body["device"]["device_id"] == BOX
    assert [i["ended_at"] for i in body["intervals"]] == [None]
    [today] = body["days"]
    assert today["day"] == "2026-03-02" and not today["final"]
    assert (today["heartbeats"], today["max_outbox_depth"], today["online_s"]) == (2, 5, 120.0)
    missing = client.get("/api/v1/devices/no-such-box/health")
    assert missing.status_code == 404
    assert missing.json()["error"]["message_vi"] == "Không tìm thấy thiết bị."


def test_alarms_are_listed_and_acknowledged_once_with_an_audit_row(
    api_env: ApiEnv, db: Database
) -> None:
    admin = api_env.as_token(api_env.user(Role.admin))
    [alarm] = admin.get("/api/v1/devices/alarms").json()
    assert (alarm["device_id"], alarm["code"]) == (BOX, "clock_drift")
    assert alarm["message_vi"] == "Đồng hồ thiết bị lệch 4300 ms"
    operator = api_env.as_token(api_env.user(Role.operator))
    refused = operator.post(f"/api/v1/devices/alarms/{alarm['id']}/acknowledge", json={})
    assert refused.status_code == 403
    url = f"/api/v1/devices/alarms/{alarm['id']}/acknowledge"
    done = admin.post(url, json={"note": "Đã cử kỹ thuật viên kiểm tra NTP"})
    assert done.status_code == 200, done.text
    assert done.json()["acknowledged_by"].startswith("user:")
    assert done.json()["cleared_at"] is None  # acknowledged, still open: the cause remains
    again = admin.post(url, json={})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "alarm_already_acknowledged"
    assert admin.post("/api/v1/devices/alarms/999999/acknowledge", json={}).status_code == 404
    with db.session() as session:
        events = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "device.alarm_acknowledged")
        ).all()
    assert [(e.entity_id, e.actor) for e in events] == [(BOX, done.json()["acknowledged_by"])]


def test_cleared_alarms_show_when_asked_for(api_env: ApiEnv, db: Database) -> None:
    with db.session() as session:
        beat(session, BOX, T0 + minutes(3), offset_ms=10)
        check_fleet(session, T0 + minutes(4), THRESHOLDS)
    client = api_env.as_token(api_env.user(Role.auditor))
    assert client.get("/api/v1/devices/alarms").json() == []
    [cleared] = client.get("/api/v1/devices/alarms", params={"open": "false"}).json()
    assert cleared["cleared_at"] is not None
    by_code = client.get("/api/v1/devices/alarms", params={"open": "false", "code": "offline"})
    assert by_code.json() == []
