"""Calibration: the stop line, lanes, solid lines and light region, in camera-frame pixels.

Pixel coordinates have x to the right and y down; angles are degrees measured the same way
(0 = towards +x, 90 = towards +y, i.e. down the image).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from protocol.enums import LampLayout, VehicleClass
from protocol.fields import Box, Identifier, Point, WireModel


def _area(points: list[Point]) -> float:
    # Shoelace formula; a zero area means the points are collinear or repeated.
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2


def _non_degenerate(points: list[Point]) -> list[Point]:
    if _area(points) <= 0:
        raise ValueError("đa giác suy biến: diện tích bằng 0 (degenerate polygon)")
    return points


def _distinct_ends(points: list[Point]) -> list[Point]:
    if len(set(points)) < 2:
        raise ValueError("đường cần ít nhất hai điểm khác nhau (a line needs two distinct points)")
    return points


Polygon = Annotated[list[Point], Field(min_length=3), AfterValidator(_non_degenerate)]
Polyline = Annotated[list[Point], Field(min_length=2), AfterValidator(_distinct_ends)]


class Lane(WireModel):
    """One lane of the approach."""

    id: Identifier = Field(description="Mã làn (lane id).")
    polygon: Polygon = Field(description="Đa giác làn, ≥ 3 điểm [x, y] (lane polygon, pixels).")
    allowed_classes: list[VehicleClass] = Field(
        default_factory=lambda: list(VehicleClass),
        min_length=1,
        description="Loại xe được đi trong làn (vehicle classes allowed).",
    )
    direction_deg: float | None = Field(
        default=None,
        ge=0,
        lt=360,
        description="Hướng đi cho phép, độ trong ảnh (permitted direction, image degrees).",
    )
    one_way: bool = Field(default=False, description="Làn một chiều (one way: enforce wrong_way).")
    right_turn_on_red: bool = Field(
        default=False, description="Được rẽ phải khi đèn đỏ (right turn on red permitted)."
    )
    lane_change_allowed: bool = Field(
        default=True,
        description="Được chuyển vào/ra làn này; false = chuyển làn là vi phạm "
        "illegal_lane_change (lane changes into or out of this lane permitted).",
    )

    @model_validator(mode="after")
    def _direction_for_one_way(self) -> Lane:
        if self.one_way and self.direction_deg is None:
            raise ValueError("làn một chiều cần direction_deg (one_way needs direction_deg)")
        return self


class SolidLine(WireModel):
    """A solid lane marking a vehicle must not cross."""

    id: Identifier = Field(description="Mã vạch liền (line id).")
    points: Polyline = Field(description="Đường gấp khúc, ≥ 2 điểm [x, y] (polyline, pixels).")


class LightRegion(WireModel):
    """Where the traffic light is in the frame, for the colour classifier."""

    box: Box = Field(description="Khung đèn [x1, y1, x2, y2], pixel (light box).")
    layout: LampLayout = Field(
        default=LampLayout.vertical, description="Bố trí đèn: vertical, horizontal (lamp layout)."
    )

    @model_validator(mode="after")
    def _has_area(self) -> LightRegion:
        x1, y1, x2, y2 = self.box
        if x2 <= x1 or y2 <= y1:
            raise ValueError("khung đèn có diện tích bằng 0 (empty light box)")
        return self


class Calibration(WireModel):
    """The calibrated geometry of one camera; packets carry only its sha256."""

    stop_line: tuple[Point, Point] | None = Field(
        default=None, description="Vạch dừng: hai điểm [x, y] (stop line, pixels)."
    )
    stop_line_direction_deg: float | None = Field(
        default=None,
        ge=0,
        lt=360,
        description="Hướng xe đi qua vạch dừng để vào nút giao, độ trong ảnh; trống = theo "
        "direction_deg của các làn, nếu không có thì 270 (đi ra xa camera, lên phía trên ảnh) "
        "(direction of travel across the stop line; default: the lanes' direction, else 270).",
    )
    lanes: list[Lane] = Field(default_factory=list, description="Các làn (lanes).")
    solid_lines: list[SolidLine] = Field(
        default_factory=list, description="Các vạch liền (solid lines)."
    )
    light_region: LightRegion | None = Field(
        default=None, description="Vùng đèn tín hiệu (traffic-light region)."
    )
    grace_s: float = Field(
        default=0.5, ge=0, le=5, description="Thời gian ân hạn sau khi đèn đỏ, giây (grace)."
    )
    amber_guard_s: float = Field(
        default=0.0,
        ge=0,
        le=10,
        description="Đèn vàng ngắn hơn mức này trước đỏ thì nghi đọc sai, không ghi vi phạm; "
        "0 = tắt (minimum amber before an enforced red; 0 disables).",
    )
    metres_per_pixel: float | None = Field(
        default=None, gt=0, description="Mét trên pixel ở vạch dừng, cho tốc độ (scale)."
    )

    @model_validator(mode="after")
    def _checks(self) -> Calibration:
        if self.stop_line is not None and self.stop_line[0] == self.stop_line[1]:
            raise ValueError("vạch dừng cần hai điểm khác nhau (stop_line needs distinct points)")
        ids = [lane.id for lane in self.lanes] + [line.id for line in self.solid_lines]
        if len(set(ids)) != len(ids):
            raise ValueError("mã làn và mã vạch phải khác nhau (lane and line ids must be unique)")
        return self

    def points(self) -> Iterator[tuple[str, Point]]:
        """Every calibrated point with its config path, for bounds checks."""
        if self.stop_line is not None:
            for i, point in enumerate(self.stop_line):
                yield f"calibration.stop_line[{i}]", point
        for n, lane in enumerate(self.lanes):
            for i, point in enumerate(lane.polygon):
                yield f"calibration.lanes[{n}].polygon[{i}]", point
        for n, line in enumerate(self.solid_lines):
            for i, point in enumerate(line.points):
                yield f"calibration.solid_lines[{n}].points[{i}]", point
        if self.light_region is not None:
            x1, y1, x2, y2 = self.light_region.box
            yield "calibration.light_region.box", (x1, y1)
            yield "calibration.light_region.box", (x2, y2)
