"""The report's figures and files: the PDF reads back in Vietnamese with the XLSX's totals."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlmodel import col

from central_server.evidence_store import FilesystemEvidenceStore
from central_server.models import AuditEvent, Violation
from central_server.reports.jobs import make_report
from central_server.reports.period import period_for
from central_server.reports.service import compute, percentiles
from central_server.reports.tables import MEASURE_LABELS, REPORT_TITLE
from tests.central_server.reports.conftest import STATUS_AFTER, Month
from tests.fixtures.db import Database

AFTER_CUTOFF = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)


def test_counts_are_the_period_events_and_the_cohort_follows_the_cases(
    db: Database, month: Month
) -> None:
    with db.session() as session:
        data = compute(session, period_for("2026-11"), AFTER_CUTOFF)
    assert data.totals | {"fines_vnd": data.fines_vnd} == month.expected
    cohort = next(t for t in data.tables if t.key == "cohort")
    counts = {row[0]: row[1] for row in cohort.rows}
    assert counts["Tổng / Total"] == 6
    assert counts["Đã nộp phạt"] == STATUS_AFTER[next(iter(STATUS_AFTER))]
    assert counts["Đã loại"] == 1 and counts["Chờ duyệt"] == 1
    by_ward = {row[0]: row[1] for row in next(t for t in data.tables if t.key == "by_ward").rows}
    assert by_ward == {"Phường Bến Nghé": 3, "Phường Đa Kao": 3}
    assert sum(c.get("detected", 0) for c in data.by_day.values()) == 6
    with db.session() as session:
        october = compute(session, period_for("2026-10"), AFTER_CUTOFF)
    assert october.totals["detected"] == 1


def test_percentiles_median_and_nearest_rank_p90() -> None:
    assert percentiles([]) == (None, None)
    assert percentiles([float(n) for n in range(1, 11)]) == (5.5, 9.0)


def _pdf_text(data: bytes) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())  # lines wrap where the page is narrow


def _xlsx_totals(data: bytes) -> dict[str, int]:
    sheet = load_workbook(io.BytesIO(data))["totals"]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    return {str(label): int(value) for label, value in rows}


def test_pdf_xlsx_and_csv_agree_with_the_database(
    db: Database, month: Month, store: FilesystemEvidenceStore
) -> None:
    period = period_for("2026-11")
    with db.session() as session:
        report = make_report(session, store, period, actor="test", now=AFTER_CUTOFF)
        detected_in_db = session.execute(
            select(func.count())
            .select_from(Violation)
            .where(
                col(Violation.detected_at) >= period.start, col(Violation.detected_at) < period.end
            )
        ).scalar_one()
    text = _pdf_text(store.get(report.pdf_sha256))
    # Correctly accented headings, as a reader of the PDF sees them.
    for heading in (
        REPORT_TITLE,
        "Tổng hợp trong kỳ",
        "Theo phường, xã",
        "Thời gian xử lý",
        "Biểu đồ 1. Vi phạm phát hiện theo ngày",
        "Chữ ký chuỗi nhật ký ngày chốt",
    ):
        assert heading in text, heading
    xlsx = _xlsx_totals(store.get(report.xlsx_sha256))
    assert xlsx[MEASURE_LABELS["detected"]] == detected_in_db == month.expected["detected"]
    for measure, label in MEASURE_LABELS.items():
        assert xlsx[label] == month.expected[measure] == report.totals[measure]
        # The PDF prints the same figure on the measure's line.
        assert f"{label} {month.expected[measure]}" in text, label
    assert "19.000.000" in text  # the fines, with Vietnamese thousands separators
    csv_text = store.get(report.csv_sha256).decode("utf-8-sig")
    assert [MEASURE_LABELS["approved"], "4"] in list(csv.reader(io.StringIO(csv_text)))


def test_a_rerun_keeps_the_earlier_files_and_is_audited(
    db: Database, month: Month, store: FilesystemEvidenceStore
) -> None:
    period = period_for("2026-11")
    with db.session() as session:
        first = make_report(session, store, period, actor="test", now=AFTER_CUTOFF)
    with db.session() as session:
        second = make_report(session, store, period, actor="user:7", now=AFTER_CUTOFF)
    assert (first.revision, second.revision) == (1, 2)
    assert store.exists(first.pdf_sha256) and store.exists(first.xlsx_sha256)
    with db.session() as session:
        actions = session.execute(
            select(col(AuditEvent.action), col(AuditEvent.actor)).where(
                col(AuditEvent.entity_type) == "monthly_report"
            )
        ).all()
    assert [tuple(a) for a in actions] == [
        ("report.generated", "test"),
        ("report.regenerated", "user:7"),
    ]


def test_device_online_time_comes_from_the_fleet_intervals(db: Database, month: Month) -> None:
    """A box online for two stretches of the month (one still open) shows their sum."""
    from central_server.devices.models_health import DeviceOnlineInterval
    from tests.factories_db import make_device

    with db.session() as session:
        device = make_device(session, id="box-uptime-01")
        session.add_all(
            [
                DeviceOnlineInterval(
                    device_id=device.id,
                    started_at=datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc),
                    ended_at=datetime(2026, 11, 3, 0, 0, tzinfo=timezone.utc),
                ),
                DeviceOnlineInterval(
                    device_id=device.id,
                    started_at=datetime(2026, 11, 29, 0, 0, tzinfo=timezone.utc),
                ),
            ]
        )
    with db.session() as session:
        data = compute(session, period_for("2026-11"), AFTER_CUTOFF)
    table = next(t for t in data.tables if t.key == "devices")
    row = next(r for r in table.rows if r[0] == "box-uptime-01")
    period = period_for("2026-11")
    # A whole day, plus the open stretch up to the period's end (the cut-off, 00:00 ICT on the
    # 30th = 17:00 UTC on the 29th).
    assert row[4] == 24.0 + 17.0
    share = 41 * 3600 / (period.end - period.start).total_seconds()
    assert row[5] == f"{share * 100:.1f} %".replace(".", ",")
