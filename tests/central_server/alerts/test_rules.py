"""The alert rules on snapshots built by hand: what fires, what does not, what it says."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from central_server.alerts.rules import (
    AUDIT_JOB,
    CHECK_JOB,
    ReportDue,
    Thresholds,
    evaluate,
    ingest_rule,
)
from central_server.alerts.schemas import AlertKind
from central_server.metrics.service import (
    DiskFigures,
    FleetFigures,
    IngestFigures,
    JobFigures,
    Snapshot,
    WaitingBox,
)

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
LIMITS = Thresholds(ingest_stall_s=900, staged_chunks_max=100, disk_used_pct=90)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def snapshot(**changes: Any) -> Snapshot:
    """A healthy system: packets a minute ago, two boxes online, a half-empty disk."""
    ingest = IngestFigures(
        stored={60: 1, 300: 4},
        bytes_5m=4_000_000,
        last_stored_at=ago(1),
        lag_s={"0.5": 6.0},
        quarantined_1h=0,
        staged_chunks=0,
        staged_bytes=0,
        oldest_staged_at=None,
    )
    fleet = FleetFigures(
        enrolled=2,
        online=2,
        last_status_at=ago(0.5),
        alarms_open={},
        offline_devices=(),
        waiting=(),
    )
    base = Snapshot(
        now=NOW,
        ingest=ingest,
        fleet=fleet,
        disk=DiskFigures(Path("/srv/evidence"), total_bytes=1000, free_bytes=500),
        violations_open={"pending_review": 3},
        plate_backlog=0,
    )
    return dataclasses.replace(base, **changes)


def kinds(s: Snapshot, report: ReportDue | None = None) -> list[str]:
    return [alert.key for alert in evaluate(s, LIMITS, report)]


def test_a_healthy_system_raises_nothing() -> None:
    assert kinds(snapshot()) == []


def test_silence_from_every_box_is_an_ingest_stall() -> None:
    quiet = snapshot(
        ingest=dataclasses.replace(snapshot().ingest, last_stored_at=ago(40)),
        fleet=dataclasses.replace(snapshot().fleet, last_status_at=ago(16)),
    )
    (alert,) = evaluate(quiet, LIMITS, None)
    assert alert.kind is AlertKind.ingest_stalled
    assert "trong 16 phút" in alert.message_vi and "for 16 min" in alert.message_en
    assert "02/03/2026 07:44" in alert.message_vi  # the last status, Vietnam time


def test_a_quiet_night_with_heartbeats_is_no_stall() -> None:
    night = snapshot(ingest=dataclasses.replace(snapshot().ingest, last_stored_at=ago(300)))
    assert kinds(night) == []


def test_evidence_waiting_on_live_boxes_without_packets_is_a_stall() -> None:
    waiting = (WaitingBox("dh-cam-001", 12, ago(20)), WaitingBox("dh-cam-002", 1, ago(2)))
    stuck = snapshot(
        ingest=dataclasses.replace(snapshot().ingest, last_stored_at=ago(30)),
        fleet=dataclasses.replace(snapshot().fleet, waiting=waiting),
    )
    alert = ingest_rule(stuck, LIMITS.ingest_stall_s)
    assert alert is not None and alert.detail == {"waiting": {"dh-cam-001": 12}}
    # The same backlog while packets still arrive is a slow box, not a stalled ingest.
    flowing = dataclasses.replace(stuck, ingest=snapshot().ingest)
    assert ingest_rule(flowing, LIMITS.ingest_stall_s) is None


def test_a_fresh_installation_that_never_heard_a_box_is_not_stalled() -> None:
    fresh = snapshot(
        ingest=dataclasses.replace(snapshot().ingest, last_stored_at=None),
        fleet=dataclasses.replace(snapshot().fleet, last_status_at=None),
    )
    assert kinds(fresh) == []


def test_staged_chunks_piling_up() -> None:
    piled = snapshot(ingest=dataclasses.replace(snapshot().ingest, staged_chunks=101))
    assert kinds(piled) == ["chunks_piling"]


def test_disk_nearly_full_says_how_full_the_vietnamese_way() -> None:
    full = snapshot(disk=DiskFigures(Path("/srv/evidence"), 100 * 10**9, 7 * 10**9))
    (alert,) = evaluate(full, LIMITS, None)
    assert alert.key == "disk_nearly_full"
    assert "đã dùng 93,0 % (còn 7,0 GB trống)" in alert.message_vi
    assert "93.0 % full (7.0 GB free)" in alert.message_en


def test_each_offline_box_is_its_own_alert() -> None:
    fleet = dataclasses.replace(snapshot().fleet, offline_devices=("dh-cam-003", "dh-cam-009"))
    assert kinds(snapshot(fleet=fleet)) == [
        "device_offline:dh-cam-003",
        "device_offline:dh-cam-009",
    ]


def test_a_missing_report_alerts_only_after_its_grace_period() -> None:
    due = ReportDue(period="2026-02", late_at=ago(1), made=False)
    assert kinds(snapshot(), due) == ["report_missed:2026-02"]
    assert kinds(snapshot(), dataclasses.replace(due, late_at=NOW + timedelta(hours=1))) == []
    assert kinds(snapshot(), dataclasses.replace(due, made=True)) == []


def test_a_failed_audit_verification_and_failed_jobs() -> None:
    jobs = {
        AUDIT_JOB: JobFigures(AUDIT_JOB, ago(60), True, ago(60), {"ok": False, "problem": "x"}),
        "reports.monthly": JobFigures("reports.monthly", ago(5), False, None, {"error": "boom"}),
        CHECK_JOB: JobFigures(CHECK_JOB, ago(1), False, ago(2), {"error": "its own"}),
    }
    found = evaluate(snapshot(jobs=jobs), LIMITS, None)
    assert [a.key for a in found] == ["audit_verify_failed", "job_failed:reports.monthly"]
    assert "boom" in found[1].message_en
