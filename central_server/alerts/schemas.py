"""What an alert is, what one delivery carries, and how times and sizes are written in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from central_server.workflow.deadlines import VN_TZ


class AlertKind(str, Enum):
    """The conditions the rules watch for."""

    ingest_stalled = "ingest_stalled"
    chunks_piling = "chunks_piling"
    disk_nearly_full = "disk_nearly_full"
    device_offline = "device_offline"
    report_missed = "report_missed"
    audit_verify_failed = "audit_verify_failed"
    job_failed = "job_failed"


KIND_LABELS: dict[AlertKind, tuple[str, str]] = {
    AlertKind.ingest_stalled: ("Tiến trình nhận bằng chứng ngừng", "ingest stalled"),
    AlertKind.chunks_piling: ("Mảnh gói tồn đọng", "staged chunks piling up"),
    AlertKind.disk_nearly_full: ("Đĩa lưu bằng chứng sắp đầy", "evidence disk nearly full"),
    AlertKind.device_offline: ("Thiết bị mất kết nối", "device offline"),
    AlertKind.report_missed: ("Thiếu báo cáo tháng", "monthly report missing"),
    AlertKind.audit_verify_failed: ("Kiểm tra nhật ký thất bại", "audit verification failed"),
    AlertKind.job_failed: ("Công việc định kỳ lỗi", "scheduled job failed"),
}


@dataclass(frozen=True)
class Alert:
    """A condition true now; `subject` tells apart alerts of one kind (a box, a period, a job)."""

    kind: AlertKind
    message_vi: str
    message_en: str
    subject: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """What deduplicates: one firing per key until it clears."""
        return self.kind.value if self.subject is None else f"{self.kind.value}:{self.subject}"


def kind_of(key: str) -> AlertKind | None:
    """The kind a key names (None for a key this version no longer knows)."""
    try:
        return AlertKind(key.split(":", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class Notice:
    """One delivery: alerts that started firing and keys that cleared, at one check."""

    at: datetime
    fired: tuple[Alert, ...]
    cleared: tuple[str, ...]
    site: str = "trafficwatch"


def local_time(at: datetime) -> str:
    """`dd/mm/yyyy HH:MM` in Vietnam."""
    return at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


def minutes(seconds: float) -> str:
    """A duration in whole minutes (`15`)."""
    return f"{round(seconds / 60):d}"


def size(n_bytes: float) -> tuple[str, str]:
    """A size in GB, written the Vietnamese way and the English way (`12,3` / `12.3`)."""
    text = f"{n_bytes / 1e9:.1f}"
    return text.replace(".", ","), text


def percent(value: float) -> tuple[str, str]:
    """A percentage with one decimal, Vietnamese and English."""
    text = f"{value:.1f}"
    return text.replace(".", ",") + " %", text + " %"
