"""The public answer: exactly the fields of the national lookup (vn_traffic.md §4), no ids."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from protocol.enums import VehicleClass


class VehicleType(str, Enum):
    """The vehicle types a citizen chooses from (as on csgt.vn)."""

    car = "oto"
    motorbike = "xemay"
    electric_bicycle = "xedapdien"
    other = "khac"


VEHICLE_CLASSES: dict[VehicleType, tuple[str, ...]] = {
    VehicleType.car: (VehicleClass.car.value, VehicleClass.bus.value, VehicleClass.truck.value),
    VehicleType.motorbike: (VehicleClass.motorbike.value,),
    VehicleType.electric_bicycle: (VehicleClass.bicycle.value,),
    VehicleType.other: (VehicleClass.other.value,),
}
VEHICLE_TYPE_LABELS_VI: dict[VehicleType, str] = {
    VehicleType.car: "Ô tô",
    VehicleType.motorbike: "Xe máy",
    VehicleType.electric_bicycle: "Xe đạp điện",
    VehicleType.other: "Phương tiện khác",
}
PAGE_SIZE = 20
MAX_PAGE = 50


class HandlingUnit(BaseModel):
    """Nơi giải quyết vụ việc: where the owner goes."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="Đơn vị / unit")
    address: str = Field(description="Địa chỉ / address")
    phone: str = Field(description="Số điện thoại / phone")


class PublicViolation(BaseModel):
    """One published violation, as the national lookup shows it."""

    model_config = ConfigDict(extra="forbid")
    plate: str = Field(description="Biển kiểm soát / plate, as printed")
    plate_colour: str = Field(description="Màu biển / plate colour")
    vehicle_type: str = Field(description="Loại phương tiện / vehicle type")
    occurred_at: datetime = Field(description="Thời gian vi phạm (giờ Việt Nam) / time (UTC+7)")
    place: str = Field(description="Địa điểm vi phạm / place")
    behaviour: str = Field(description="Hành vi vi phạm / behaviour")
    legal_ref: str = Field(description="Căn cứ pháp lý, ví dụ `168/2024 6.9.b` / legal reference")
    status: str = Field(description="Trạng thái: `Chưa xử phạt` | `Đã xử phạt` / status")
    detecting_unit: str = Field(description="Đơn vị phát hiện vi phạm / detecting unit")
    handling_unit: HandlingUnit


class SearchResult(BaseModel):
    """A page of the violations published for one plate and vehicle type."""

    model_config = ConfigDict(extra="forbid")
    plate: str = Field(description="Biển số đã chuẩn hoá / the plate searched, compact")
    vehicle_type: VehicleType
    page: int
    page_size: int
    total: int = Field(description="Tổng số vi phạm / number of violations found")
    results: list[PublicViolation]


_EXAMPLE_ROW: dict[str, Any] = {
    "plate": "73A-123.45",
    "plate_colour": "Nền trắng, chữ đen",
    "vehicle_type": "Ô tô",
    "occurred_at": "2026-11-20T07:12:05+07:00",
    "place": "Ngã tư Hùng Vương - Lý Thường Kiệt, Phường Đồng Hới, Quảng Trị",
    "behaviour": "Không chấp hành hiệu lệnh của đèn tín hiệu giao thông",
    "legal_ref": "168/2024 6.9.b",
    "status": "Chưa xử phạt",
    "detecting_unit": "Trung tâm Giám sát giao thông Quảng Trị",
    "handling_unit": {
        "name": "Phòng Cảnh sát giao thông Công an tỉnh Quảng Trị",
        "address": "Số 1 Hùng Vương, Phường Đồng Hới, Quảng Trị",
        "phone": "0232 3822 111",
    },
}
RESPONSE_EXAMPLES: dict[str, Any] = {
    "vi": {
        "summary": "Một vi phạm chưa xử phạt",
        "value": {
            "plate": "73A12345",
            "vehicle_type": "oto",
            "page": 1,
            "page_size": PAGE_SIZE,
            "total": 1,
            "results": [_EXAMPLE_ROW],
        },
    },
    "en": {
        "summary": "No violation found for this plate",
        "value": {
            "plate": "29MD101353",
            "vehicle_type": "xedapdien",
            "page": 1,
            "page_size": PAGE_SIZE,
            "total": 0,
            "results": [],
        },
    },
}
PLATE_EXAMPLES: dict[str, Any] = {
    "vi": {"summary": "Biển ô tô, có dấu", "value": "73A-123.45"},
    "en": {"summary": "Electric motorbike, D for Đ", "value": "29MD1 01353"},
}
