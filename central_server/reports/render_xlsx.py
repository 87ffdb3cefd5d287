"""The report as an XLSX workbook (openpyxl): a sheet per table, numbers kept as numbers."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font

from central_server.reports.service import ReportData
from central_server.reports.tables import REPORT_TITLE

# Excel limits sheet names to 31 characters; the table keys are short and unique.
_SHEET_NAME_MAX = 31


def render_xlsx(data: ReportData) -> bytes:
    """The report as an XLSX workbook: a cover sheet, then one sheet per table."""
    workbook = Workbook()
    cover = workbook.active
    cover.title = "bao_cao"
    cover.append([REPORT_TITLE])
    cover.append(["Kỳ / Period", data.period.label])
    cover.append(["Từ / From", data.period.first_day.isoformat()])
    cover.append(["Đến trước / Until", data.period.cutoff_day.isoformat()])
    cover.append(["Lập lúc (UTC) / Made at (UTC)", data.generated_at.isoformat()])
    cover["A1"].font = Font(bold=True)
    for note in data.notes:
        cover.append([note])
    for table in data.tables:
        sheet = workbook.create_sheet(table.key[:_SHEET_NAME_MAX])
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(table.columns)
        for row in table.rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
