"""Report periods: [previous cut-off 00:00, this cut-off 00:00) in Vietnam time.

The cut-off is day 30 of each month, or the last day of February (28 or 29). A period is named
after the month of its closing cut-off: "2026-03" runs from 28 February to 30 March.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from central_server.workflow.deadlines import VN_TZ

CUTOFF_DAY = 30
_PERIOD_RE = re.compile(r"^(2\d{3})-(0[1-9]|1[0-2])$")  # years 2000-2999


def cutoff_date(year: int, month: int) -> date:
    """The month's cut-off day: the 30th, or February's last day."""
    return date(year, month, min(CUTOFF_DAY, calendar.monthrange(year, month)[1]))


def _previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VN_TZ).astimezone(timezone.utc)


@dataclass(frozen=True)
class Period:
    """One report period: `label` "YYYY-MM", its bounds in UTC (start included, end excluded)."""

    label: str
    start: datetime
    end: datetime

    @property
    def first_day(self) -> date:
        """The first local day of the period."""
        return self.start.astimezone(VN_TZ).date()

    @property
    def cutoff_day(self) -> date:
        """The local cut-off day (the period ends at its 00:00; the report is made that day)."""
        return self.end.astimezone(VN_TZ).date()

    def days(self) -> list[date]:
        """Every local day of the period, in order."""
        count = (self.cutoff_day - self.first_day).days
        return [self.first_day + timedelta(days=i) for i in range(count)]


def period_for(label: str) -> Period:
    """The period named "YYYY-MM" (ValueError on another form)."""
    match = _PERIOD_RE.match(label)
    if match is None:
        raise ValueError(f"period must be YYYY-MM, not {label!r}")
    year, month = int(match.group(1)), int(match.group(2))
    start = cutoff_date(*_previous_month(year, month))
    return Period(label, _local_midnight(start), _local_midnight(cutoff_date(year, month)))


def latest_closed_period(now: datetime, run_at: time = time(0)) -> Period:
    """The newest period whose cut-off day has reached `run_at` (local) by `now`."""
    local = now.astimezone(VN_TZ)
    year, month = local.year, local.month
    cutoff = datetime.combine(cutoff_date(year, month), run_at, tzinfo=VN_TZ)
    if local < cutoff:
        year, month = _previous_month(year, month)
    return period_for(f"{year:04d}-{month:02d}")
