"""Non-maximum suppression: duplicates of one object go, neighbours and other classes stay."""

from __future__ import annotations

import numpy as np

from edge_agent.detect.nms import batched_nms, iou, nms


def test_iou_of_known_boxes() -> None:
    box = np.array([0, 0, 10, 10], np.float32)
    others = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    np.testing.assert_allclose(iou(box, others), [1.0, 50 / 150, 0.0])


def test_duplicates_suppressed_best_first() -> None:
    boxes = np.array([[0, 0, 100, 100], [2, 2, 102, 102], [200, 0, 300, 100]], np.float32)
    scores = np.array([0.6, 0.9, 0.5], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]


def test_threshold_decides_overlap() -> None:
    boxes = np.array([[0, 0, 100, 100], [50, 0, 150, 100]], np.float32)  # IoU 1/3
    scores = np.array([0.9, 0.8], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [0, 1]
    assert nms(boxes, scores, 0.3).tolist() == [0]


def test_classes_do_not_suppress_each_other() -> None:
    boxes = np.array([[0, 0, 100, 100], [1, 1, 101, 101], [1, 1, 99, 99]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    classes = np.array([3, 0, 3])  # a motorbike, its rider, a duplicate motorbike
    assert sorted(batched_nms(boxes, scores, classes, 0.5).tolist()) == [0, 1]


def test_negative_coordinates_keep_classes_apart() -> None:
    boxes = np.array([[-50, -50, 10, 10], [-50, -50, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8], np.float32)
    assert sorted(batched_nms(boxes, scores, np.array([0, 1]), 0.5).tolist()) == [0, 1]


def test_nothing_in_nothing_out() -> None:
    empty = np.zeros((0, 4), np.float32)
    assert batched_nms(empty, np.zeros(0), np.zeros(0), 0.5).size == 0
