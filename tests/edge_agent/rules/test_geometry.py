"""Geometry: crossings with hysteresis, lanes, turns."""

from __future__ import annotations

import numpy as np
import pytest

from edge_agent.rules.geometry import (
    Band,
    Segment,
    crossings,
    ground_point,
    heading_deg,
    points_in_polygon,
    turn_deg,
)


def crossings_of(
    ys: list[float], margin: float = 5.0, commit: float = 5.0, dwell: float = 1.0
) -> list[object]:
    points = np.asarray([[100.0, y] for y in ys])
    times = np.arange(len(ys)) / 10.0
    band = Band(np.full(len(ys), margin), np.full(len(ys), commit), dwell)
    return crossings(points, times, Segment.toward((0, 500), (200, 500), 270), band)  # type: ignore[return-value]


def test_ground_point_is_the_bottom_centre() -> None:
    assert ground_point((10, 20, 30, 60)) == (20, 60)


def test_a_clean_pass_is_one_forward_crossing_at_the_line() -> None:
    [crossing] = crossings_of([530, 515, 505, 495, 485, 470])
    assert crossing.forward and (crossing.before, crossing.after) == (2, 3)  # type: ignore[attr-defined]
    assert crossing.fraction == pytest.approx(0.5)  # type: ignore[attr-defined]


def test_jitter_inside_the_band_is_no_crossing() -> None:
    assert crossings_of([520, 503, 497, 502, 498, 501, 499]) == []


def test_commit_distance_must_be_reached() -> None:
    assert crossings_of([520, 505, 495, 485, 480], commit=30) == []
    assert len(crossings_of([520, 505, 495, 485, 460], commit=30)) == 1


def test_a_stop_on_the_line_crosses_when_it_leaves_the_band() -> None:
    ys = [520.0, 510, 501] + [499.0, 501, 498, 502] * 5 + [496.0, 490, 480, 470]
    [crossing] = crossings_of(ys, margin=5, commit=20)
    assert ys[crossing.after] <= 495  # type: ignore[attr-defined]  # not a jitter inside the band


def test_beside_the_segment_is_not_across_it() -> None:
    points = np.asarray([[300.0, y] for y in (530, 510, 490, 470)])
    band = Band(np.full(4, 5.0), np.full(4, 5.0))
    assert crossings(points, np.arange(4) / 10, Segment.toward((0, 500), (200, 500)), band) == []


def test_polygon_membership() -> None:
    square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    inside = points_in_polygon(np.asarray([[5.0, 5.0], [15.0, 5.0], [-1.0, 2.0]]), square)
    assert inside.tolist() == [True, False, False]


def test_right_turns_are_clockwise_on_screen() -> None:
    assert heading_deg(0, -1) == pytest.approx(270)  # up the image
    assert turn_deg(270, 0) == pytest.approx(90)  # up, then right: a right turn
    assert turn_deg(90, 180) == pytest.approx(90)  # down (towards the camera), then left on screen
    assert turn_deg(270, 180) == pytest.approx(-90)
