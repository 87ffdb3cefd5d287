"""The report as CSV: one file, each table a section (its title, its header, its rows)."""

from __future__ import annotations

import csv
import io

from central_server.reports.service import ReportData


def render_csv(data: ReportData) -> bytes:
    """The report as UTF-8 CSV with a BOM (Excel then opens Vietnamese text correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        ["period", data.period.label, data.period.start.isoformat(), data.period.end.isoformat()]
    )
    for table in data.tables:
        writer.writerow([])
        writer.writerow([f"# {table.key}", table.title])
        writer.writerow(table.columns)
        writer.writerows(["" if v is None else v for v in row] for row in table.rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
