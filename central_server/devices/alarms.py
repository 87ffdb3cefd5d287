"""Fleet alarm rules, and raising and clearing alarms (deduplicated: one open per box and code).

The rules are pure functions of what a box reported or of the time; `reconcile()` turns a rule's
finding into an alarm row (raised once, refreshed while the cause lasts, cleared when it goes).
Callers hold the box's `device_health` row lock (`health.lock_health`), so two workers never
raise the same alarm at once; the partial unique index would refuse it anyway. Raising and
clearing are machine decisions and are logged; a person acknowledging an alarm is audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlmodel import Session, col, select

from central_server.devices.models_health import AlarmCode, DeviceAlarm
from central_server.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FleetThresholds:
    """The limits the fleet rules apply (from `TW_FLEET_*`)."""

    heartbeat_timeout_s: float = 120.0
    offline_after_s: float = 600.0
    outbox_growth_heartbeats: int = 5
    clock_drift_ms: float = 1000.0
    dropped_clear_after_s: float = 86400.0

    @classmethod
    def from_settings(cls, settings: Settings) -> FleetThresholds:
        """Take the thresholds from the server settings."""
        return cls(
            heartbeat_timeout_s=settings.fleet_heartbeat_timeout_s,
            offline_after_s=settings.fleet_offline_after_s,
            outbox_growth_heartbeats=settings.fleet_outbox_growth_heartbeats,
            clock_drift_ms=settings.fleet_clock_drift_ms,
            dropped_clear_after_s=settings.fleet_dropped_clear_after_s,
        )


@dataclass(frozen=True)
class Finding:
    """A rule's verdict that an alarm should be open, with its bilingual message."""

    code: AlarmCode
    message_vi: str
    message_en: str
    detail: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- rules (pure)


def offline_rule(offline_since: datetime | None, now: datetime, after_s: float) -> Finding | None:
    """Offline for longer than `after_s`."""
    if offline_since is None or (now - offline_since).total_seconds() < after_s:
        return None
    minutes = int((now - offline_since).total_seconds() // 60)
    return Finding(
        AlarmCode.offline,
        f"Thiết bị mất kết nối {minutes} phút",
        f"Device offline for {minutes} min",
        {"offline_since": offline_since.isoformat()},
    )


def outbox_rule(trend: list[int], heartbeats: int) -> Finding | None:
    """The outbox never shrank over the last `heartbeats` heartbeats and grew overall."""
    window = trend[-heartbeats:]
    if len(window) < heartbeats or window[-1] <= window[0]:
        return None
    if any(later < earlier for earlier, later in pairwise(window)):
        return None
    return Finding(
        AlarmCode.outbox_growing,
        f"Hàng đợi gói tăng liên tục: {window[0]} → {window[-1]} gói",
        f"Outbox keeps growing: {window[0]} → {window[-1]} packets",
        {"depths": window},
    )


def clock_rule(offset_ms: float | None, bound_ms: float) -> Finding | None:
    """The box's clock is further than `bound_ms` from its reference."""
    if offset_ms is None or abs(offset_ms) <= bound_ms:
        return None
    return Finding(
        AlarmCode.clock_drift,
        f"Đồng hồ thiết bị lệch {offset_ms:.0f} ms",
        f"Device clock off by {offset_ms:.0f} ms",
        {"offset_ms": offset_ms, "bound_ms": bound_ms},
    )


def camera_rule(problems: list[str]) -> Finding | None:
    """The camera reports faults (no frames, frozen, dark, disconnected)."""
    if not problems:
        return None
    listed = ", ".join(problems)
    return Finding(
        AlarmCode.camera_problem,
        f"Camera gặp sự cố: {listed}",
        f"Camera problem: {listed}",
        {"problems": problems},
    )


def dropped_rule(newly_dropped: int, totals: dict[str, int]) -> Finding | None:
    """The box dropped evidence for lack of disk since its previous heartbeat."""
    if newly_dropped <= 0:
        return None
    return Finding(
        AlarmCode.evidence_dropped,
        f"Thiết bị đã bỏ {newly_dropped} phần bằng chứng vì hết dung lượng",
        f"Device dropped {newly_dropped} evidence items for lack of disk",
        {"newly_dropped": newly_dropped, **totals},
    )


def gap_rule(ranges: list[tuple[int, int]]) -> Finding | None:
    """Sequence numbers missing for longer than the gap report time (possible losses)."""
    if not ranges:
        return None
    missing = sum(high - low + 1 for low, high in ranges)
    return Finding(
        AlarmCode.sequence_gap,
        f"Có thể mất {missing} gói bằng chứng (thiếu số thứ tự)",
        f"Possibly lost {missing} evidence packets (sequence gaps)",
        {"missing": missing, "ranges": [[low, high] for low, high in ranges[:20]]},
    )


# ---------------------------------------------------------------- alarm rows


def open_alarm(session: Session, device_id: str, code: AlarmCode) -> DeviceAlarm | None:
    """The box's open alarm of `code`, if any."""
    return open_alarms(session, device_id).get(code)


def open_alarms(session: Session, device_id: str) -> dict[AlarmCode, DeviceAlarm]:
    """The box's open alarms by code."""
    statement = select(DeviceAlarm).where(
        col(DeviceAlarm.device_id) == device_id, col(DeviceAlarm.cleared_at).is_(None)
    )
    return {alarm.code: alarm for alarm in session.exec(statement).all()}


def _raise(
    session: Session, device_id: str, finding: Finding, alarm: DeviceAlarm | None, now: datetime
) -> DeviceAlarm:
    if alarm is None:
        alarm = DeviceAlarm(
            device_id=device_id,
            code=finding.code,
            message_vi=finding.message_vi,
            message_en=finding.message_en,
            detail=finding.detail,
            raised_at=now,
            updated_at=now,
        )
        logger.warning(
            "alarm %s raised for %s: %s", finding.code.value, device_id, alarm.message_en
        )
    else:
        alarm.message_vi, alarm.message_en = finding.message_vi, finding.message_en
        alarm.detail, alarm.updated_at = finding.detail, now
    session.add(alarm)
    return alarm


def _clear(session: Session, alarm: DeviceAlarm, now: datetime) -> None:
    alarm.cleared_at = alarm.updated_at = now
    session.add(alarm)
    logger.info("alarm %s cleared for %s", alarm.code.value, alarm.device_id)


def apply_findings(
    session: Session, device_id: str, findings: dict[AlarmCode, Finding | None], now: datetime
) -> int:
    """For each code given, raise or refresh (a finding) or clear (None) its alarm; codes not
    given are left as they are. Returns how many alarms were cleared."""
    current = open_alarms(session, device_id)
    cleared = 0
    for code, finding in findings.items():
        alarm = current.get(code)
        if finding is not None:
            _raise(session, device_id, finding, alarm, now)
        elif alarm is not None:
            _clear(session, alarm, now)
            cleared += 1
    session.flush()
    return cleared


def raise_alarm(session: Session, device_id: str, finding: Finding, now: datetime) -> DeviceAlarm:
    """Open an alarm, or refresh the open one of the same code (never a second one)."""
    alarm = _raise(session, device_id, finding, open_alarm(session, device_id, finding.code), now)
    session.flush()
    return alarm


def clear_alarm(
    session: Session, device_id: str, code: AlarmCode, now: datetime
) -> DeviceAlarm | None:
    """Close the open alarm of `code` (its cause has gone); None when none was open."""
    alarm = open_alarm(session, device_id, code)
    if alarm is not None:
        _clear(session, alarm, now)
        session.flush()
    return alarm
