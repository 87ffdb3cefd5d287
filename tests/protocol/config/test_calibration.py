"""Calibration geometry: polygons, lines, light region, ids."""

from __future__ import annotations

from typing import Any

import pytest

from protocol.config import Calibration, Lane
from protocol.enums import VehicleClass

SQUARE = [[0, 0], [100, 0], [100, 100], [0, 100]]


def lane(**changes: Any) -> Lane:
    return Lane.model_validate({"id": "l1", "polygon": SQUARE, **changes})


def test_lane_defaults_allow_every_class() -> None:
    assert lane().allowed_classes == list(VehicleClass)
    assert not lane().right_turn_on_red


@pytest.mark.parametrize(
    "polygon", [[[0, 0], [1, 1]], [[0, 0], [1, 1], [2, 2]], [[5, 5], [5, 5], [5, 5]]]
)
def test_polygons_need_three_points_and_an_area(polygon: list[list[float]]) -> None:
    with pytest.raises(ValueError, match="polygon"):
        lane(polygon=polygon)


def test_one_way_needs_a_direction() -> None:
    with pytest.raises(ValueError, match="direction_deg"):
        lane(one_way=True)
    assert lane(one_way=True, direction_deg=270).one_way


def test_lines_and_ids() -> None:
    with pytest.raises(ValueError, match="points"):
        Calibration.model_validate({"solid_lines": [{"id": "s1", "points": [[0, 0]]}]})
    with pytest.raises(ValueError, match="distinct"):
        Calibration.model_validate({"solid_lines": [{"id": "s1", "points": [[3, 3], [3, 3]]}]})
    with pytest.raises(ValueError, match="unique"):
        Calibration.model_validate(
            {
                "lanes": [{"id": "x", "polygon": SQUARE}],
                "solid_lines": [{"id": "x", "points": [[0, 0], [5, 5]]}],
            }
        )
    with pytest.raises(ValueError, match="stop_line"):
        Calibration.model_validate({"stop_line": [[1, 1], [1, 1]]})


def test_light_region_needs_an_area() -> None:
    with pytest.raises(ValueError, match="light"):
        Calibration.model_validate({"light_region": {"box": [10, 10, 10, 50]}})
    region = Calibration.model_validate({"light_region": {"box": [10, 10, 20, 50]}}).light_region
    assert region is not None and region.layout.value == "vertical"


def test_grace_is_bounded() -> None:
    assert Calibration().grace_s == 0.5
    with pytest.raises(ValueError, match="grace_s"):
        Calibration(grace_s=-1)
