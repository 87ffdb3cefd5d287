"""Report periods: day 30, February's last day in leap and common years, the local cut-off."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest

from central_server.reports.period import latest_closed_period, period_for
from central_server.workflow.deadlines import VN_TZ


def _local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def test_a_period_runs_from_the_previous_30th_to_this_30th_at_local_midnight() -> None:
    period = period_for("2026-11")
    assert period.start == _local(2026, 10, 30)
    assert period.end == _local(2026, 11, 30)
    assert period.end == datetime(2026, 11, 29, 17, 0, tzinfo=timezone.utc)
    assert len(period.days()) == 31


@pytest.mark.parametrize(
    ("label", "first", "cutoff"),
    [
        ("2024-02", date(2024, 1, 30), date(2024, 2, 29)),  # leap year: the 29th
        ("2024-03", date(2024, 2, 29), date(2024, 3, 30)),
        ("2026-02", date(2026, 1, 30), date(2026, 2, 28)),  # common year: the 28th
        ("2026-03", date(2026, 2, 28), date(2026, 3, 30)),
        ("2026-01", date(2025, 12, 30), date(2026, 1, 30)),  # across the new year
    ],
)
def test_february_closes_on_its_last_day(label: str, first: date, cutoff: date) -> None:
    period = period_for(label)
    assert (period.first_day, period.cutoff_day) == (first, cutoff)


def test_the_latest_closed_period_turns_over_at_the_local_run_time_on_the_cutoff_day() -> None:
    assert latest_closed_period(_local(2026, 11, 29, 23, 59)).label == "2026-10"
    assert latest_closed_period(_local(2026, 11, 30, 0, 0)).label == "2026-11"
    assert latest_closed_period(_local(2026, 11, 30, 0, 10), time(0, 30)).label == "2026-10"
    assert latest_closed_period(_local(2026, 12, 5)).label == "2026-11"
    assert latest_closed_period(_local(2026, 2, 28, 1)).label == "2026-02"
    assert latest_closed_period(_local(2024, 2, 28, 12)).label == "2024-01"
    assert latest_closed_period(_local(2024, 2, 29, 1)).label == "2024-02"


@pytest.mark.parametrize("label", ["2026-13", "2026-1", "26-01", "2026-00", "0000-01", ""])
def test_a_malformed_period_is_refused(label: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        period_for(label)
