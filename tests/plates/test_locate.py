"""Finding plates: text lines from character blobs, two lines in order, perspective undone."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from plates.locate import find_candidates, warp
from plates.rows import split_lines
from tests.plates.synth import render_plate


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union


def test_a_two_line_plate_is_found_with_its_lines_top_first(font: Path) -> None:
    plate = render_plate("73AA12345", shape="motorbike", lines=2, height=90)
    best = find_candidates(plate.image)[0]
    assert len(best.lines) == 2
    top, bottom = best.lines
    assert top.box[3] <= bottom.box[1] + 0.2 * top.height
    assert iou(best.box, plate.box) >= 0.5


def test_a_one_line_car_plate_is_found(font: Path) -> None:
    plate = render_plate("29A12345", shape="car", lines=1, height=40)
    boxes = [c.box for c in find_candidates(plate.image)]
    assert any(iou(box, plate.box) >= 0.5 for box in boxes)


def test_the_vehicle_box_puts_its_own_plate_first(font: Path) -> None:
    left = render_plate("43A11111", shape="car", lines=1, height=40).image
    right = render_plate("43A22222", shape="car", lines=1, height=40).image
    h = max(left.shape[0], right.shape[0])
    pad = [np.pad(im, ((0, h - im.shape[0]), (0, 0), (0, 0)), mode="edge") for im in (left, right)]
    scene = np.concatenate(pad, axis=1)
    vehicle = (float(left.shape[1]), 0.0, float(scene.shape[1]), float(h))
    first = find_candidates(scene, region=vehicle)[0]
    assert first.box[0] >= left.shape[1] - 5


def test_a_turned_plate_is_rectified_so_its_line_stands_level(font: Path) -> None:
    plate = render_plate("30A12345", shape="car", lines=1, height=60, turn=(18.0, 0.0, 9.0))
    line = find_candidates(plate.image)[0].lines[0]
    rectified = warp(plate.image, line.quad(0.25))
    # Character boxes of the rectified line share one baseline.
    gray = cv2.cvtColor(rectified, cv2.COLOR_BGR2GRAY)
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    _, _, stats, _ = cv2.connectedComponentsWithStats(binary)
    chars = stats[1:]
    tall = chars[(chars[:, 3] >= 0.5 * rectified.shape[0]) & (chars[:, 2] <= chars[:, 3])]
    bottoms = tall[:, 1] + tall[:, 3]
    assert len(tall) >= 6 and np.ptp(bottoms) <= 0.1 * rectified.shape[0]


def test_a_block_holding_two_lines_splits_between_them(font: Path) -> None:
    plate = render_plate("73AA12345", shape="motorbike", lines=2, height=100)
    x1, y1, x2, y2 = (int(v) for v in plate.box)
    halves = split_lines(plate.image[y1:y2, x1:x2])
    assert halves is not None and len(halves) == 2
    one_line = render_plate("29A12345", shape="car", lines=1, height=40)
    x1, y1, x2, y2 = (int(v) for v in one_line.box)
    assert split_lines(one_line.image[y1:y2, x1:x2]) is None


def test_an_image_without_text_has_no_candidates() -> None:
    assert find_candidates(np.full((300, 400, 3), 90, np.uint8)) == []
