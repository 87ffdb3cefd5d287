"""The report as PDF (reportlab), in DejaVu Sans so Vietnamese prints with every diacritic.

The font is the system's (Debian/Ubuntu `fonts-dejavu-core`), not bundled: a missing font is a
clear error, never a PDF of empty boxes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable

from central_server.reports.service import ReportData
from central_server.reports.tables import REPORT_TITLE, REPORT_TITLE_EN, Cell, Table

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
)
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"


class FontMissingError(RuntimeError):
    """DejaVu Sans is not installed (apt-get install fonts-dejavu-core)."""


def _find_font(filename: str) -> Path:
    for directory in FONT_DIRS:
        if (directory / filename).is_file():
            return directory / filename
    raise FontMissingError(
        f"Không tìm thấy phông {filename} (cần gói fonts-dejavu-core) / font {filename} not "
        f"found in {', '.join(map(str, FONT_DIRS))}: install fonts-dejavu-core"
    )


def register_fonts() -> None:
    """Register DejaVu Sans (regular and bold) with reportlab, once."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, str(_find_font("DejaVuSans.ttf"))))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(_find_font("DejaVuSans-Bold.ttf"))))


def _styles() -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName=FONT_BOLD, fontSize=13, leading=17, alignment=1),
        "h2": ParagraphStyle("h2", fontName=FONT_BOLD, fontSize=10.5, leading=14, spaceBefore=8),
        "body": ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11),
    }


def _cell(value: Cell) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")  # Vietnamese thousands separator
    return str(value)


def _pdf_table(table: Table, body: ParagraphStyle) -> PdfTable:
    header = [Paragraph(c, body) for c in table.columns]
    rows = [[Paragraph(_cell(v), body) for v in row] for row in table.rows] or [
        [Paragraph("Không có dữ liệu / No data", body)] + [""] * (len(table.columns) - 1)
    ]
    result = PdfTable([header, *rows], repeatRows=1, hAlign="LEFT")
    result.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return result


def _bar_chart(
    title: str, labels: Sequence[str], values: Sequence[int], horizontal: bool
) -> Drawing:
    drawing = Drawing(170 * mm, 70 * mm)
    chart = HorizontalBarChart() if horizontal else VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = (
        60 * mm if horizontal else 15 * mm,
        10 * mm,
        (100 * mm if horizontal else 150 * mm),
        50 * mm,
    )
    chart.data = [list(values) or [0]]
    chart.categoryAxis.categoryNames = list(labels) or [""]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#3b6fb6")
    drawing.add(chart)
    drawing.add(String(0, 65 * mm, title, fontName=FONT_BOLD, fontSize=9))
    return drawing


def _charts(data: ReportData) -> list[Flowable]:
    days = list(data.by_day)
    per_day = [data.by_day[d].get("detected", 0) for d in days]
    behaviours = list(data.by_behaviour)
    per_behaviour = [data.by_behaviour[b].get("detected", 0) for b in behaviours]
    return [
        _bar_chart(
            "Biểu đồ 1. Vi phạm phát hiện theo ngày / Detected per day",
            [d.strftime("%d") for d in days],
            per_day,
            horizontal=False,
        ),
        _bar_chart(
            "Biểu đồ 2. Vi phạm phát hiện theo hành vi / Detected per behaviour",
            behaviours,
            per_behaviour,
            horizontal=True,
        ),
    ]


def render_pdf(data: ReportData) -> bytes:
    """The report as a PDF document."""
    register_fonts()
    styles = _styles()
    period = data.period
    story: list[Flowable] = [
        Paragraph(REPORT_TITLE, styles["title"]),
        Paragraph(REPORT_TITLE_EN, styles["body"]),
        Paragraph(
            f"Kỳ báo cáo / Period {period.label}: từ 00:00 ngày {period.first_day:%d/%m/%Y} đến "
            f"trước 00:00 ngày {period.cutoff_day:%d/%m/%Y} (giờ Việt Nam). Lập lúc / made "
            f"{data.generated_at.astimezone(period.end.tzinfo):%d/%m/%Y %H:%M} UTC.",
            styles["body"],
        ),
        Spacer(1, 4 * mm),
    ]
    for table in data.tables:
        story += [Paragraph(table.title, styles["h2"]), _pdf_table(table, styles["body"])]
        if table.key == "totals":
            story += _charts(data)
    story += [Paragraph("Ghi chú / Notes", styles["h2"])]
    story += [Paragraph(note, styles["body"]) for note in data.notes]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Báo cáo tháng {period.label}",
        author="trafficwatch",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        invariant=True,  # the same figures give the same bytes (no timestamp or random id)
    )
    document.build(story)
    return buffer.getvalue()
