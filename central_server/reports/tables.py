"""The report's tables, titled in Vietnamese then English: what every renderer prints alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from central_server.catalogue.service import behaviour_label_vi
from central_server.models import Site
from central_server.workflow.deadlines import VN_TZ
from central_server.workflow.states import STATUS_LABELS_VI
from protocol.enums import BehaviourCode

if TYPE_CHECKING:
    from central_server.reports.service import ReportData

Cell = str | int | float | None

REPORT_TITLE = "BÁO CÁO KẾT QUẢ XÁC MINH, XỬ LÝ VI PHẠM QUA HỆ THỐNG CAMERA GIAO THÔNG"
REPORT_TITLE_EN = "Monthly report: verification and handling of camera-detected violations"

MEASURE_LABELS: dict[str, str] = {
    "detected": "Vi phạm phát hiện / Detected",
    "approved": "Đã duyệt, xác nhận / Approved",
    "rejected": "Đã loại / Rejected",
    "sent_to_police": "Chuyển Công an / Sent to police",
    "confirmed": "Kết luận có vi phạm / Confirmed",
    "dismissed": "Kết luận không vi phạm / Dismissed",
    "notices": "Thông báo đã gửi / Notices",
    "decisions": "Quyết định xử phạt / Decisions",
    "paid": "Đã nộp phạt / Paid",
    "expired": "Hết thời hiệu / Expired",
}
FINES_LABEL = "Tổng tiền phạt (đồng) / Fines (VND)"
OVERDUE_LABELS = {
    "overdue_notice": "Quá hạn gửi thông báo / Notice overdue",
    "overdue_escalation": "Quá hạn chuyển cơ quan đăng kiểm / Escalation overdue",
    "overdue_record": "Quá hạn lập biên bản / Record overdue",
}


@dataclass(frozen=True)
class Table:
    """One titled table: the same in the PDF, each XLSX sheet and each CSV section."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]]


def _local(at: datetime | None) -> str:
    return "" if at is None else at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


def _behaviour(code: str) -> str:
    try:
        return behaviour_label_vi(BehaviourCode(code))
    except ValueError:
        return code


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _totals_table(data: ReportData) -> Table:
    rows: list[list[Cell]] = [[MEASURE_LABELS[m], n] for m, n in data.totals.items()]
    rows.append([FINES_LABEL, data.fines_vnd])
    return Table(
        "totals",
        "1. Tổng hợp trong kỳ / Totals of the period",
        ["Chỉ tiêu / Measure", "Số lượng / Count"],
        rows,
    )


def _counts_table(
    key: str, title: str, first: str, items: Mapping[str, Mapping[str, int]], label: Any
) -> Table:
    measures = ["detected", "approved", "rejected", "confirmed", "decisions"]
    columns = [first, *(MEASURE_LABELS[m].split(" / ")[0] for m in measures)]
    rows: list[list[Cell]] = [
        [label(name), *(counts.get(m, 0) for m in measures)] for name, counts in items.items()
    ]
    return Table(key, title, columns, rows)


def _site_tables(
    by_site: Mapping[str, Mapping[str, int]], sites: Mapping[str, Site]
) -> list[Table]:
    def name(site_id: str) -> str:
        site = sites.get(site_id)
        return f"{site.name} ({site_id})" if site is not None else site_id

    by_ward: dict[str, dict[str, int]] = {}
    for site_id, counts in by_site.items():
        site = sites.get(site_id)
        ward = (site.ward if site is not None else "") or "(chưa rõ / unknown)"
        into = by_ward.setdefault(ward, {})
        for measure, n in counts.items():
            into[measure] = into.get(measure, 0) + n
    return [
        _counts_table(
            "by_site",
            "4. Theo điểm đặt camera / By site",
            "Điểm / Site",
            dict(sorted(by_site.items())),
            name,
        ),
        _counts_table(
            "by_ward",
            "5. Theo phường, xã / By ward",
            "Phường, xã / Ward",
            dict(sorted(by_ward.items())),
            str,
        ),
    ]


def _times_table(times: Mapping[str, tuple[float | None, float | None]]) -> Table:
    labels = {
        "review": "Phát hiện → duyệt / Detection → review",
        "conclusion": "Phê duyệt → kết luận / Approval → conclusion",
    }
    rows: list[list[Cell]] = [
        [labels[k], _round(median), _round(p90)] for k, (median, p90) in times.items()
    ]
    columns = ["Khâu / Step", "Trung vị (giờ) / Median (h)", "Phân vị 90 (giờ) / P90 (h)"]
    return Table("processing_times", "7. Thời gian xử lý / Processing times", columns, rows)


def _device_table(devices: list[dict[str, Any]]) -> Table:
    columns = [
        "Thiết bị / Device",
        "Điểm / Site",
        "Nhịp tim cuối / Last heartbeat",
        "Hoạt động / Reporting",
        "Trực tuyến (giờ) / Online (h)",
        "Tỉ lệ trực tuyến / Online share",
        "Cảnh báo / Alarms",
    ]
    rows: list[list[Cell]] = [
        [
            d["device_id"],
            d["site_id"],
            _local(d["last_seen_at"]),
            "Có / Yes" if d["reporting"] else "Không / No",
            round(float(d["uptime_s"]) / 3600, 1),
            f"{float(d['uptime_share']) * 100:.1f} %".replace(".", ","),
            d["alarms"],
        ]
        for d in devices
    ]
    return Table("devices", "9. Thiết bị và cảnh báo / Devices and alarms", columns, rows)


def _head_table(head: dict[str, Any] | None) -> Table:
    columns = ["Mục / Item", "Giá trị / Value"]
    if head is None:
        rows: list[list[Cell]] = [["Chưa có chữ ký / Not signed yet", ""]]
    else:
        rows = [
            ["Sự kiện cuối / Last event", head["event_id"]],
            ["Mã băm / Head hash", head["head_hash"]],
            ["Khóa / Key id", head["key_id"]],
            ["Thời điểm ký / Signed at", _local(head["signed_at"])],
            ["Chữ ký hợp lệ / Signature valid", "Có / Yes" if head["verified"] else "Không / No"],
        ]
    return Table(
        "audit_head", "10. Chữ ký chuỗi nhật ký ngày chốt / Signed audit head", columns, rows
    )


def build_tables(
    data: ReportData,
    *,
    reasons: Mapping[str, int],
    by_site: Mapping[str, Mapping[str, int]],
    sites: Mapping[str, Site],
    cohort: Mapping[str, int],
    times: Mapping[str, tuple[float | None, float | None]],
    overdue: Mapping[str, int],
    devices: list[dict[str, Any]],
) -> list[Table]:
    """Every table of the report, in the order printed."""
    status_rows: list[list[Cell]] = [
        [label, cohort.get(status.value, 0)] for status, label in STATUS_LABELS_VI.items()
    ]
    status_rows.append(["Tổng / Total", sum(cohort.values())])
    day_rows: list[list[Cell]] = [
        [
            day.strftime("%d/%m/%Y"),
            c.get("detected", 0),
            c.get("approved", 0) + c.get("rejected", 0),
            c.get("confirmed", 0),
        ]
        for day, c in data.by_day.items()
    ]
    return [
        _totals_table(data),
        Table(
            "rejected_by_reason",
            "2. Loại theo lý do / Rejected by reason",
            ["Lý do / Reason", "Số lượng / Count"],
            [[k, v] for k, v in sorted(reasons.items())],
        ),
        Table(
            "cohort",
            "3. Vi phạm phát hiện trong kỳ theo trạng thái hiện tại / Cohort by current state",
            ["Trạng thái / State", "Số lượng / Count"],
            status_rows,
        ),
        *_site_tables(by_site, sites),
        _counts_table(
            "by_behaviour",
            "6. Theo hành vi / By behaviour",
            "Hành vi / Behaviour",
            data.by_behaviour,
            _behaviour,
        ),
        _times_table(times),
        Table(
            "overdue",
            "8. Quá hạn (hiện tại) / Overdue now",
            ["Chỉ tiêu / Measure", "Số lượng / Count"],
            [[OVERDUE_LABELS[k], v] for k, v in overdue.items()],
        ),
        _device_table(devices),
        _head_table(data.audit_head),
        Table(
            "by_day",
            "11. Theo ngày / By day",
            [
                "Ngày / Day",
                "Phát hiện / Detected",
                "Đã duyệt / Reviewed",
                "Kết luận có vi phạm / Confirmed",
            ],
            day_rows,
        ),
    ]
