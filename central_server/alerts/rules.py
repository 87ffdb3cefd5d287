"""The alert rules: pure functions of the snapshot (and the report that is due), no I/O.

Each returns the alerts true now; the job compares them with those already firing, so a rule
never has to remember anything itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from central_server.alerts.schemas import Alert, AlertKind, local_time, minutes, percent, size
from central_server.metrics.service import Snapshot
from central_server.settings import Settings

CHECK_JOB = "alerts.check"
AUDIT_JOB = "alerts.audit_verify"
SHOWN_BOXES = 20  # boxes named in one alert's text


@dataclass(frozen=True)
class Thresholds:
    """The limits the rules apply (from the settings)."""

    ingest_stall_s: float
    staged_chunks_max: int
    disk_used_pct: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        """The thresholds configured by `TW_ALERT_*`."""
        return cls(
            ingest_stall_s=settings.alert_ingest_stall_s,
            staged_chunks_max=settings.alert_staged_chunks_max,
            disk_used_pct=settings.alert_disk_used_pct,
        )


@dataclass(frozen=True)
class ReportDue:
    """The monthly report owed at `now`: its period, when it is late, whether it exists."""

    period: str
    late_at: datetime
    made: bool


def ingest_rule(s: Snapshot, stall_s: float) -> Alert | None:
    """Nothing heard from any box for `stall_s`, or evidence waiting on live boxes that long
    while no packet is stored (the status path works, the evidence path does not)."""
    stall = timedelta(seconds=stall_s)
    heard = [t for t in (s.ingest.last_stored_at, s.fleet.last_status_at) if t is not None]
    if s.fleet.enrolled > 0 and heard and s.now - max(heard) > stall:
        last = max(heard)
        return Alert(
            AlertKind.ingest_stalled,
            f"Không nhận được gói bằng chứng hay nhịp tim nào từ {s.fleet.enrolled} thiết bị "
            f"trong {minutes((s.now - last).total_seconds())} phút (lần cuối "
            f"{local_time(last)}): kiểm tra tiến trình nhận, broker MQTT và mạng.",
            f"Nothing (no packet, no heartbeat) received from {s.fleet.enrolled} boxes for "
            f"{minutes((s.now - last).total_seconds())} min (last at {local_time(last)}): check "
            "the ingest service, the MQTT broker and the network.",
            detail={"last_heard_at": last.isoformat(), "enrolled": s.fleet.enrolled},
        )
    last_stored = s.ingest.last_stored_at
    if last_stored is not None and s.now - last_stored <= stall:
        return None
    waiting = [
        box
        for box in s.fleet.waiting
        if box.oldest_at is not None and s.now - box.oldest_at > stall
    ]
    if not waiting:
        return None
    names = ", ".join(box.device_id for box in waiting[:SHOWN_BOXES])
    return Alert(
        AlertKind.ingest_stalled,
        f"{len(waiting)} thiết bị có bằng chứng chờ gửi quá {minutes(stall_s)} phút ({names}) "
        "nhưng máy chủ không lưu được gói nào.",
        f"{len(waiting)} boxes have had evidence waiting for over {minutes(stall_s)} min "
        f"({names}) while no packet was stored.",
        detail={"waiting": {box.device_id: box.depth for box in waiting}},
    )


def chunks_rule(s: Snapshot, max_chunks: int) -> Alert | None:
    """More chunks staged than `max_chunks`: sets that never complete (a box, a broker limit)."""
    staged = s.ingest.staged_chunks
    if staged <= max_chunks:
        return None
    return Alert(
        AlertKind.chunks_piling,
        f"{staged} mảnh gói đang chờ ghép (ngưỡng {max_chunks}).",
        f"{staged} chunks are staged waiting for their siblings (limit {max_chunks}).",
        detail={"staged_chunks": staged, "staged_bytes": s.ingest.staged_bytes},
    )


def disk_rule(s: Snapshot, used_pct: float) -> Alert | None:
    """The evidence store's filesystem fuller than `used_pct`."""
    if s.disk is None or s.disk.used_pct < used_pct:
        return None
    used_vi, used_en = percent(s.disk.used_pct)
    free_vi, free_en = size(s.disk.free_bytes)
    return Alert(
        AlertKind.disk_nearly_full,
        f"Đĩa lưu bằng chứng {s.disk.path} đã dùng {used_vi} (còn {free_vi} GB trống).",
        f"Evidence disk {s.disk.path} is {used_en} full ({free_en} GB free).",
        detail={"path": str(s.disk.path), "used_pct": round(s.disk.used_pct, 2)},
    )


def offline_rules(s: Snapshot) -> list[Alert]:
    """One alert per box whose fleet `offline` alarm is open."""
    return [
        Alert(
            AlertKind.device_offline,
            f"Thiết bị {device_id} mất kết nối.",
            f"Box {device_id} is offline.",
            subject=device_id,
        )
        for device_id in s.fleet.offline_devices
    ]


def report_rule(due: ReportDue, now: datetime) -> Alert | None:
    """The period's report not made by its run time plus the grace period."""
    if due.made or now < due.late_at:
        return None
    return Alert(
        AlertKind.report_missed,
        f"Chưa có báo cáo tháng {due.period} (hạn {local_time(due.late_at)}).",
        f"The monthly report for {due.period} has not been made (due {local_time(due.late_at)}).",
        subject=due.period,
    )


def audit_rule(s: Snapshot) -> Alert | None:
    """The latest scheduled audit verification found a broken chain or a bad signed head."""
    run = s.jobs.get(AUDIT_JOB)
    if run is None or run.result is None or run.result.get("ok", True):
        return None
    problem = str(run.result.get("problem", ""))
    return Alert(
        AlertKind.audit_verify_failed,
        f"Chuỗi nhật ký kiểm tra không đạt: {problem}. Chạy `trafficwatch server audit verify`.",
        f"The audit chain failed verification: {problem}. Run `trafficwatch server audit verify`.",
        detail=run.result,
    )


def job_rules(s: Snapshot) -> list[Alert]:
    """Every scheduled job whose latest run failed (the alert check itself cannot report)."""
    alerts = []
    for job, run in sorted(s.jobs.items()):
        if run.last_ok or job == CHECK_JOB:
            continue
        error = str((run.result or {}).get("error", ""))
        alerts.append(
            Alert(
                AlertKind.job_failed,
                f"Công việc {job} lỗi lúc {local_time(run.last_run_at)}: {error}",
                f"Scheduled job {job} failed at {local_time(run.last_run_at)}: {error}",
                subject=job,
            )
        )
    return alerts


def evaluate(s: Snapshot, thresholds: Thresholds, report: ReportDue | None) -> list[Alert]:
    """Every alert true in `s`."""
    single = [
        ingest_rule(s, thresholds.ingest_stall_s),
        chunks_rule(s, thresholds.staged_chunks_max),
        disk_rule(s, thresholds.disk_used_pct),
        None if report is None else report_rule(report, s.now),
        audit_rule(s),
    ]
    return [a for a in single if a is not None] + offline_rules(s) + job_rules(s)
