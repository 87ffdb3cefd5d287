"""The alert check on a real database: fires once, clears, retries what was not delivered, and
runs as one of the scheduler's jobs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from central_server import audit
from central_server.alerts.delivery import channels_from_settings
from central_server.alerts.jobs import check_alerts, verify_audit
from central_server.alerts.rules import AUDIT_JOB
from central_server.alerts.state import CLEARED, FIRED, firing_keys
from central_server.models import AuditDetail, AuditEvent
from central_server.reports.models import MonthlyReport
from central_server.scheduler.jobs import DailyJob, frequent_jobs, run_due_jobs, run_job
from central_server.scheduler.lock import DbLock
from central_server.scheduler.models import JobRun
from central_server.settings import Settings, get_settings
from tests.central_server.alerts.sinks import WebhookSink, webhook_sink
from tests.fixtures.db import Database

NOW = datetime(2026, 3, 10, 3, 0, tzinfo=timezone.utc)  # 10:00 on 10 March in Vietnam


@pytest.fixture
def hook() -> Iterator[WebhookSink]:
    """The webhook the alerts are sent to."""
    with webhook_sink() as sink:
        yield sink


def alert_settings(db: Database, evidence: Path, hook: WebhookSink, **extra: Any) -> Settings:
    """Alerts to `hook`; the disk rule off unless a test sets its threshold."""
    evidence.mkdir(parents=True, exist_ok=True)
    fields: dict[str, Any] = {
        "database_url": db.url,
        "evidence_dir": evidence,
        "alert_webhook_url": hook.url,
        "alert_disk_used_pct": 100,
        "secret_key": "alert-test-secret-" + "s" * 32,
    }
    return Settings(_env_file=None, **(fields | extra))


def check(db: Database, settings: Settings, now: datetime = NOW) -> dict[str, Any]:
    """One alert check in its own transaction, as the scheduler runs it."""
    with db.session() as session:
        return check_alerts(session, now, settings, channels_from_settings(settings))


def sent_keys(hook: WebhookSink) -> list[tuple[list[str], list[str]]]:
    """(fired keys, cleared keys) of each webhook call."""
    return [([a["key"] for a in c["json"]["fired"]], c["json"]["cleared"]) for c in hook.calls]


def alert_events(db: Database) -> list[tuple[str, str]]:
    """(action, key) of every alert audit event, oldest first."""
    with db.session() as session:
        rows = session.exec(
            select(AuditEvent.action, AuditEvent.entity_id)
            .where(col(AuditEvent.entity_type) == "alert")
            .order_by(col(AuditEvent.id))
        ).all()
    return [(action, key) for action, key in rows]


def fill(path: Path, share: float) -> Path:
    """Write a file taking `share` of the filesystem at `path`."""
    stats = os.statvfs(path)
    target = path / "filler.bin"
    target.write_bytes(b"\0" * int(stats.f_blocks * stats.f_frsize * share))
    return target


def test_a_nearly_full_evidence_disk_alerts_once_then_clears(
    db: Database, tiny_fs: Path, hook: WebhookSink
) -> None:
    settings = alert_settings(db, tiny_fs / "evidence", hook, alert_disk_used_pct=90)
    assert check(db, settings) == {"firing": 0}
    filler = fill(tiny_fs, 0.95)

    fired = check(db, settings)
    again = check(db, settings, NOW + timedelta(minutes=1))
    filler.unlink()
    cleared = check(db, settings, NOW + timedelta(minutes=2))

    assert fired["fired"] == ["disk_nearly_full"] and fired["delivered"] == {"webhook": "ok"}
    assert again == {"firing": 1}  # still full: not sent a second time
    assert cleared["cleared"] == ["disk_nearly_full"]
    assert sent_keys(hook) == [(["disk_nearly_full"], []), ([], ["disk_nearly_full"])]
    assert "đã dùng" in hook.calls[0]["json"]["fired"][0]["message_vi"]
    assert alert_events(db) == [(FIRED, "disk_nearly_full"), (CLEARED, "disk_nearly_full")]


def test_the_disk_threshold_applies_to_any_filesystem(
    db: Database, tmp_path: Path, hook: WebhookSink
) -> None:
    # Without root (no tmpfs to fill), a threshold below what any disk uses shows the same path.
    settings = alert_settings(db, tmp_path / "evidence", hook, alert_disk_used_pct=0.001)
    assert check(db, settings)["fired"] == ["disk_nearly_full"]
    with db.session() as session:
        (event,) = session.exec(select(AuditEvent).where(col(AuditEvent.action) == FIRED)).all()
        detail = session.get(AuditDetail, event.id)
    assert detail is not None
    after = detail.after
    assert isinstance(after, dict)
    assert after["delivered"] == {"webhook": "ok"}
    assert after["detail"]["path"] == str(tmp_path / "evidence")


def test_an_alert_nobody_received_is_sent_again_at_the_next_check(
    db: Database, tmp_path: Path, hook: WebhookSink
) -> None:
    settings = alert_settings(db, tmp_path / "evidence", hook, alert_disk_used_pct=0.001)
    hook.answers = [503]
    first = check(db, settings)
    with db.session() as session:
        assert firing_keys(session) == ()
    second = check(db, settings, NOW + timedelta(minutes=1))

    assert first["undelivered"] == ["disk_nearly_full"]
    assert second["fired"] == ["disk_nearly_full"]
    assert sent_keys(hook) == [(["disk_nearly_full"], [])] * 2
    assert alert_events(db) == [(FIRED, "disk_nearly_full")]


def test_a_missed_monthly_report_alerts_until_it_is_made(
    db: Database, tmp_path: Path, hook: WebhookSink
) -> None:
    settings = alert_settings(db, tmp_path / "evidence", hook)
    assert check(db, settings) == {"firing": 0}  # the scheduler never ran: nobody owed a report
    with db.session() as session:  # the scheduler has run since January
        session.add(
            JobRun(
                job="workflow.expire",
                period="2026-01-05",
                ok=True,
                started_at=NOW - timedelta(days=64),
            )
        )
    # The February period closed on 28 February; its report was due that day at 00:30 + 6 h.
    assert check(db, settings)["fired"] == ["report_missed:2026-02"]
    with db.session() as session:
        session.add(
            MonthlyReport(
                period="2026-02",
                period_start=NOW - timedelta(days=40),
                period_end=NOW - timedelta(days=10),
                generated_by="cli:admin",
                pdf_sha256="0" * 64,
                xlsx_sha256="1" * 64,
                csv_sha256="2" * 64,
            )
        )
    assert check(db, settings, NOW + timedelta(minutes=1))["cleared"] == ["report_missed:2026-02"]


def test_a_rewritten_audit_event_is_caught_by_the_daily_verification(
    db: Database, tmp_path: Path, hook: WebhookSink
) -> None:
    settings = alert_settings(db, tmp_path / "evidence", hook)
    with db.session() as session:
        for n in range(3):
            audit.append(
                session,
                actor="user:7",
                action="violation.approved",
                entity_type="violation",
                entity_id=n,
            )
    lock = DbLock(db.engine)
    assert lock.acquire(NOW)
    verify = DailyJob(AUDIT_JOB, verify_audit)
    assert run_job(db.engine, lock, verify, NOW) == "ran"
    assert check(db, settings) == {"firing": 0}

    with db.session() as session:  # someone with database access rewrites who approved
        session.execute(text("UPDATE audit_event SET actor = 'user:8' WHERE id = 2"))
    assert lock.acquire(NOW + timedelta(days=1))
    assert run_job(db.engine, lock, verify, NOW + timedelta(days=1)) == "ran"
    fired = check(db, settings, NOW + timedelta(days=1))

    # (The February report is missing too: the scheduler ran a day ago and never made it.)
    assert fired["fired"] == ["report_missed:2026-02", "audit_verify_failed"]
    message = hook.calls[0]["json"]["fired"][1]
    assert "chain broken at event 2" in message["message_en"]


def test_the_scheduler_runs_the_alert_check_at_every_heartbeat(
    db: Database,
    tmp_path: Path,
    hook: WebhookSink,
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "TW_DATABASE_URL": db.url,
        "TW_EVIDENCE_DIR": str(tmp_path),
        "TW_ALERT_WEBHOOK_URL": hook.url,
        "TW_ALERT_DISK_USED_PCT": "0.001",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    jobs = frequent_jobs()
    lock = DbLock(db.engine)
    assert lock.acquire(NOW)

    outcomes = run_due_jobs(db.engine, lock, jobs, NOW)
    later = run_due_jobs(db.engine, lock, jobs, NOW + timedelta(seconds=20))  # same slot

    assert outcomes == {"devices.fleet_check": "ran", AUDIT_JOB: "ran", "alerts.check": "ran"}
    assert later["alerts.check"] == "done"
    assert sent_keys(hook) == [(["disk_nearly_full"], [])]
