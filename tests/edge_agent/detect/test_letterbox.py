"""Letterbox geometry: a box maps into the network input and back to the same frame pixels."""

from __future__ import annotations

import numpy as np
import pytest

from edge_agent.detect.letterbox import boxes_to_frame, boxes_to_input, letterbox


@pytest.mark.parametrize("center", [False, True])
@pytest.mark.parametrize("shape", [(1080, 1920), (1920, 1080), (432, 768), (416, 416)])
def test_box_round_trip(shape: tuple[int, int], center: bool) -> None:
    height, width = shape
    frame = np.zeros((height, width, 3), np.uint8)
    _, meta = letterbox(frame, (416, 416), center=center)
    rng = np.random.default_rng(7)
    corners = np.sort(rng.uniform(0, 1, (50, 2, 2)), axis=1)
    boxes = np.concatenate([corners[:, 0] * (width, height), corners[:, 1] * (width, height)], 1)
    back = boxes_to_frame(boxes_to_input(boxes, meta), meta)
    np.testing.assert_allclose(back, boxes, atol=1e-2)


def test_frame_lands_top_left_with_grey_padding() -> None:
    frame = np.full((1080, 1920, 3), 200, np.uint8)
    canvas, meta = letterbox(frame, (416, 416))
    assert canvas.shape == (416, 416, 3)
    assert meta.scale == pytest.approx(416 / 1920)
    content_h = round(1080 * meta.scale)
    assert (canvas[:content_h] == 200).all()
    assert (canvas[content_h:] == 114).all()


def test_centred_letterbox_pads_both_sides() -> None:
    frame = np.full((1080, 1920, 3), 200, np.uint8)
    canvas, meta = letterbox(frame, (416, 416), center=True)
    assert meta.pad_x == 0 and meta.pad_y > 0
    assert (canvas[: meta.pad_y] == 114).all() and (canvas[-meta.pad_y :] == 114).all()
    assert (canvas[meta.pad_y + 1 : -meta.pad_y - 1] == 200).all()


def test_a_feature_is_found_where_it_is() -> None:
    frame = np.zeros((1080, 1920, 3), np.uint8)
    frame[500:600, 1000:1200] = 255  # a white rectangle
    canvas, meta = letterbox(frame, (416, 416))
    ys, xs = np.nonzero(canvas[:, :, 0] > 128)
    found = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    np.testing.assert_allclose(boxes_to_frame(found, meta)[0], [1000, 500, 1200, 600], atol=6)


def test_boxes_outside_the_picture_are_clipped() -> None:
    _, meta = letterbox(np.zeros((1080, 1920, 3), np.uint8), (416, 416))
    out = boxes_to_frame(np.array([[-10, -10, 500, 400]], np.float32), meta)
    assert out[0].tolist() == [0, 0, 1920, 1080]
