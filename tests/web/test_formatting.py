"""The filters: Vietnam time, đồng, decimals, behaviour and state names in both languages."""

from __future__ import annotations

from datetime import date, datetime, timezone

from central_server.models import ViolationStatus
from central_server.web.formatting import (
    behaviour_name,
    local_date,
    local_datetime,
    local_time_seconds,
    money,
    number,
    status_name,
    vehicle_name,
)
from protocol.enums import BehaviourCode, VehicleClass


def test_times_are_shown_in_vietnam() -> None:
    late_utc = datetime(2026, 12, 31, 17, 5, 9, tzinfo=timezone.utc)
    assert local_datetime(late_utc) == "01/01/2027 00:05"
    assert local_time_seconds(late_utc) == "01/01/2027 00:05:09"
    assert local_datetime("2026-11-20T01:30:00+00:00") == "20/11/2026 08:30"
    assert local_datetime("2026-11-20T01:30:00") == "20/11/2026 08:30"  # naive: stored UTC
    assert local_datetime(None) == ""
    assert local_date(late_utc) == "01/01/2027"
    assert local_date(date(2026, 2, 28)) == "28/02/2026"
    assert local_date("2026-02-28") == "28/02/2026"


def test_money_and_numbers() -> None:
    assert money(1_500_000) == "1.500.000 ₫"
    assert money(800) == "800 ₫"
    assert money(None) == ""
    assert number("vi", 2.4, 1) == "2,4"
    assert number("en", 2.4, 1) == "2.4"
    assert number("vi", 12345.678, 2) == "12.345,68"
    assert number("en", 12345.678, 2) == "12,345.68"


def test_names_come_from_the_catalogue_and_are_translated() -> None:
    red = BehaviourCode.red_light
    assert behaviour_name("vi", red) == "Không chấp hành hiệu lệnh của đèn tín hiệu giao thông"
    assert behaviour_name("en", red) == "Failing to obey traffic signals"
    assert behaviour_name("en", "not-a-code") == "not-a-code"
    assert status_name("vi", ViolationStatus.approved) == "Đã phê duyệt, chuyển Công an"
    assert status_name("en", ViolationStatus.approved) == "Approved, handed to the police"
    assert vehicle_name("vi", VehicleClass.motorbike) == "Mô tô, xe gắn máy"
    assert vehicle_name("en", VehicleClass.motorbike) == "Motorbike"
