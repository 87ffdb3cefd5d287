"""The words of a police case file: media, records, history steps and signal phases by name,
and the signed facts of the packet picked out and labelled (every label a msgid)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from central_server.accounts.models import User
from central_server.models import Violation
from central_server.web.i18n import N_
from central_server.workflow.models import PoliceRecordKind
from protocol.enums import MediaRole

MEDIA_LABELS: dict[MediaRole, str] = {
    MediaRole.scene_before: N_("Trước vi phạm"),
    MediaRole.scene_at: N_("Thời điểm vi phạm"),
    MediaRole.scene_after: N_("Sau vi phạm"),
    MediaRole.plate_crop: N_("Biển số"),
    MediaRole.rider_crop: N_("Người điều khiển"),
    MediaRole.clip: N_("Video"),
}
RECORD_LABELS: dict[PoliceRecordKind, str] = {
    PoliceRecordKind.owner_identified: N_("Xác định chủ phương tiện"),
    PoliceRecordKind.notice: N_("Thông báo vi phạm"),
    PoliceRecordKind.transfer: N_("Chuyển vụ việc (mẫu 03)"),
    PoliceRecordKind.penalty_decision: N_("Quyết định xử phạt"),
    PoliceRecordKind.payment: N_("Nộp phạt"),
    PoliceRecordKind.escalation: N_("Cảnh báo cơ quan đăng kiểm, đăng ký"),
}
# Signal phases in words (the value is a msgid: the template translates it).
PHASE_LABELS: dict[str, str] = {
    "red": N_("Đỏ"),
    "amber": N_("Vàng"),
    "green": N_("Xanh"),
    "unknown": N_("Không rõ"),
}
# The audited steps a case file lists, in words (views and claim renewals are left out).
STEP_LABELS: dict[str, str] = {
    "violation.ingested": N_("Tiếp nhận từ thiết bị"),
    "review.claimed": N_("Nhận duyệt"),
    "review.skipped": N_("Bỏ qua khi duyệt"),
    "review.released": N_("Trả lại hàng chờ duyệt"),
    "violation.plate_corrected": N_("Sửa biển số"),
    "violation.approve": N_("Phê duyệt, chuyển Công an"),
    "violation.reject": N_("Loại"),
    "violation.claim": N_("Nhận xác minh"),
    "violation.release": N_("Trả lại hàng chờ xác minh"),
    "violation.confirm": N_("Kết luận có vi phạm"),
    "violation.dismiss": N_("Kết luận không vi phạm"),
    "violation.notify": N_("Gửi thông báo vi phạm"),
    "violation.penalize": N_("Ra quyết định xử phạt"),
    "violation.pay": N_("Nộp phạt"),
    "violation.close": N_("Kết thúc vụ việc"),
    "violation.expire": N_("Hết thời hiệu"),
    "violation.reopen_review": N_("Mở lại để duyệt"),
    "violation.reopen_approved": N_("Mở lại, chuyển Công an"),
    "evidence.exported": N_("Xuất gói bằng chứng"),
    "police_record.owner_identified": N_("Xác định chủ phương tiện"),
    "police_record.transfer": N_("Chuyển vụ việc (mẫu 03)"),
    "police_record.escalation": N_("Cảnh báo cơ quan đăng kiểm, đăng ký"),
}
HIDDEN_STEPS = frozenset({"evidence.viewed", "review.renewed"})


@dataclass(frozen=True)
class Fact:
    """A measured fact of the signed packet, labelled."""

    label: str  # msgid
    value: str
    translate: bool = False  # the value is a msgid too


def user_names(session: Session, audit_names: list[str]) -> dict[str, str]:
    """Display names for audit actors (`user:<id>` → full name; `system:x` stays as it is)."""
    ids = {int(name[5:]) for name in audit_names if name.startswith("user:") and name[5:].isdigit()}
    names = {name: name for name in audit_names}
    if ids:
        for user in session.exec(select(User).where(col(User.id).in_(sorted(ids)))).all():
            names[f"user:{user.id}"] = user.full_name or user.username
    return names


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def facts_of(violation: Violation) -> list[Fact]:
    """The signed facts a case file needs, labelled; absent ones are left out."""
    f = violation.facts or {}
    rows: list[tuple[str, Any]] = [
        (N_("Pha đèn khi qua vạch dừng"), _phase(_get(f, "violation", "signal", "phase"))),
        (N_("Thời gian sau khi đèn đỏ (giây)"), _get(f, "violation", "signal", "time_into_red_s")),
        (N_("Thời gian đèn vàng (giây)"), _get(f, "violation", "signal", "amber_duration_s")),
        (N_("Làn đường"), _get(f, "violation", "lane", "lane_id")),
        (N_("Vạch kẻ bị đè"), _get(f, "violation", "lane", "line_id")),
        (N_("Tốc độ ước tính (km/h)"), _get(f, "violation", "speed_kmh")),
        (N_("Độ tin cậy của quy tắc"), _get(f, "violation", "confidence")),
        (N_("Thiết bị"), violation.device_id),
        (N_("Camera"), violation.camera_id),
        (N_("Mô hình nhận dạng"), _model(f)),
        (N_("Phiên bản phần mềm"), _get(f, "software_version")),
        (N_("Đồng bộ đồng hồ"), _clock(f)),
        (N_("Tọa độ"), _location(f)),
        (N_("Mã gói bằng chứng"), str(violation.packet_id)),
    ]
    helmet = _get(f, "violation", "helmet", "riders") or []
    for rider in helmet if isinstance(helmet, list) else []:
        rows.append((N_("Xác suất đội mũ bảo hiểm"), _get(rider, "helmet_score")))
    words = set(PHASE_LABELS.values())
    return [
        Fact(label, str(value), value in words)
        for label, value in rows
        if value not in (None, "", [])
    ]


def _phase(phase: Any) -> str | None:
    return None if phase is None else PHASE_LABELS.get(str(phase), str(phase))


def _model(facts: dict[str, Any]) -> str | None:
    name, version = _get(facts, "model", "name"), _get(facts, "model", "version")
    return f"{name} {version}" if name else None


def _clock(facts: dict[str, Any]) -> str | None:
    clock = _get(facts, "clock")
    if not isinstance(clock, dict):
        return None
    state = "✓" if clock.get("synced") else "✗"
    return f"{state} {clock.get('source', '')}, {clock.get('offset_ms', '')} ms"


def _location(facts: dict[str, Any]) -> str | None:
    lat, lon = _get(facts, "location", "lat"), _get(facts, "location", "lon")
    return None if lat is None or lon is None else f"{lat:.5f}, {lon:.5f}"
