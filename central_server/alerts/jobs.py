"""The scheduler's alert jobs: the frequent check, and the daily audit verification it reads.

`alerts.check` runs once per slot of `TW_ALERT_CHECK_EVERY_S` (like the fleet check): it reads the
snapshot, evaluates the rules, and compares them with the alerts firing (the audit chain). New and
cleared alerts go out as one notice; only once it reached a channel (or when none is configured)
are they recorded, so a dead mail server means a retry at the next slot, not a lost alert.
Delivery happens before the audit rows are appended: the chain head is locked only for the
appends, never while a mail server answers.

Both are among the scheduler's frequent jobs (every heartbeat, whatever the hour), each once per
its period. `alerts.audit_verify`'s period is the local day: at the first heartbeat of each day it
verifies the whole chain and the signed heads (keys from `server_key`; the thorough check with
fingerprints kept offline is `trafficwatch server audit verify --server-key ...`) and leaves its
verdict in its run record.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from central_server.alerts import state
from central_server.alerts.delivery import OK, Channel, channels_from_settings, deliver
from central_server.alerts.rules import AUDIT_JOB, CHECK_JOB, ReportDue, Thresholds, evaluate
from central_server.alerts.schemas import Notice
from central_server.audit import verify_chain
from central_server.audit_cli import check_signed_heads
from central_server.devices.health_jobs import check_period
from central_server.metrics.service import read_snapshot
from central_server.reports.jobs import ReportSettings, existing_revisions
from central_server.reports.period import latest_closed_period
from central_server.scheduler.models import JobRun
from central_server.settings import Settings, env_file, get_settings
from central_server.workflow.deadlines import VN_TZ

if TYPE_CHECKING:
    from central_server.scheduler.jobs import DailyJob

logger = logging.getLogger(__name__)

KEEP_CHECK_RUNS = timedelta(days=2)


def report_due(session: Session, now: datetime, grace_s: float) -> ReportDue | None:
    """The newest closed period, when its report is late, and whether it exists.

    Late means `grace_s` after the report's run time on the cut-off day, or after the
    scheduler's first run if that came later (a new installation catches the report up at its
    first daily run: no alert for that). None while the scheduler has never run.
    """
    first_run = session.execute(select(func.min(col(JobRun.started_at)))).scalar_one()
    if first_run is None:
        return None
    run_at = ReportSettings(_env_file=env_file()).run_at
    period = latest_closed_period(now, run_at)
    made_at = datetime.combine(period.cutoff_day, run_at, tzinfo=VN_TZ)
    return ReportDue(
        period=period.label,
        late_at=max(made_at, first_run) + timedelta(seconds=grace_s),
        made=existing_revisions(session, period.label) > 0,
    )


def check_alerts(
    session: Session, now: datetime, settings: Settings, channels: Sequence[Channel]
) -> dict[str, Any]:
    """Evaluate, notify what changed, record it; a summary for the run record."""
    snapshot = read_snapshot(session, settings, now)
    due = report_due(session, now, settings.alert_report_grace_s)
    current = evaluate(snapshot, Thresholds.from_settings(settings), due)
    firing = set(state.firing_keys(session))
    fired = [alert for alert in current if alert.key not in firing]
    cleared = sorted(firing - {alert.key for alert in current})
    _prune_check_runs(session, now, settings.alert_check_every_s)
    summary: dict[str, Any] = {"firing": len(firing) + len(fired) - len(cleared)}
    if not fired and not cleared:
        return summary
    notice = Notice(now, tuple(fired), tuple(cleared), site=socket.gethostname())
    delivered = deliver(notice, channels)
    if channels and OK not in delivered.values():
        logger.error("alerts not delivered anywhere; retrying at the next check: %s", delivered)
        return {"undelivered": [a.key for a in fired] + cleared, "delivered": delivered}
    if not channels:
        logger.warning("no alert channel configured (TW_ALERT_EMAIL_TO, TW_ALERT_WEBHOOK_URL)")
    for alert in fired:
        logger.warning("alert fired: %s: %s", alert.key, alert.message_en)
    for key in cleared:
        logger.info("alert cleared: %s", key)
    state.record(session, fired, cleared, delivered)
    return summary | {"fired": [a.key for a in fired], "cleared": cleared, "delivered": delivered}


def verify_audit(session: Session, now: datetime) -> dict[str, Any]:
    """Verify the audit chain and the signed heads; the verdict (never raises on a bad one)."""
    chain = verify_chain(session)
    heads = check_signed_heads(session, set())
    problem = None
    if not chain.ok:
        problem = f"chain broken at event {chain.first_broken_event_id} ({chain.field})"
    elif heads.problem is not None:
        problem = f"head signature {heads.first_bad_signature_id}: {heads.problem}"
    if problem is not None:
        logger.error("audit verification failed: %s", problem)
    return {
        "ok": problem is None,
        "problem": problem,
        "events_checked": chain.events_checked,
        "heads_checked": heads.checked,
        "chain": {k: v for k, v in asdict(chain).items() if v is not None},
    }


def _prune_check_runs(session: Session, now: datetime, every_s: float) -> None:
    # One run record per slot: keep two days of them for diagnosis, not a year.
    oldest = check_period(now - KEEP_CHECK_RUNS, every_s)
    session.execute(delete(JobRun).where(col(JobRun.job) == CHECK_JOB, col(JobRun.period) < oldest))


def alert_jobs(
    settings: Settings | None = None, channels: Sequence[Channel] | None = None
) -> list[DailyJob]:
    """The scheduler's alert jobs (settings from the environment unless given)."""
    # Imported here: `scheduler.jobs` lists these jobs among its own, importing this module.
    from central_server.scheduler.jobs import DailyJob

    conf = settings or get_settings()
    outlets = list(channels) if channels is not None else channels_from_settings(conf)

    def check(session: Session, now: datetime) -> dict[str, Any]:
        return check_alerts(session, now, conf, outlets)

    def slot(now: datetime) -> str:
        return check_period(now, conf.alert_check_every_s)

    return [DailyJob(AUDIT_JOB, verify_audit), DailyJob(CHECK_JOB, check, period=slot)]
