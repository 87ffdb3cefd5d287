"""Stills: the right frames at the right sizes, crops cut from the full frame and never rescaled.

The frames are real 1920×1080 pictures (`../shared/data/vn_plates`, phone video in Ho Chi Minh
City) with their labelled plates; the tests skip where that data is absent.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_agent.capture.base import Frame
from edge_agent.evidence.frames import FrameRing
from edge_agent.evidence.stills import (
    crop_stills,
    find_key_frame,
    plate_box,
    scene_stills,
)
from protocol.enums import MediaRole
from protocol.violation import Violation
from tests.edge_agent.capture.media import shared_data_dir

T0 = datetime(2025, 6, 2, 1, 30, tzinfo=timezone.utc)
FPS = 25.0
QUALITY = 80


def plates_image(name: str) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """A real 1080p frame and its labelled plate boxes (pixels)."""
    folder = shared_data_dir() / "vn_plates"
    path = folder / "images" / name
    if not path.is_file():
        pytest.skip(f"{path} absent: the shared plate frames are not on this machine")
    image = cv2.imread(str(path))
    assert image is not None, path
    height, width = image.shape[:2]
    boxes = []
    for line in (folder / "labels" / Path(name).with_suffix(".txt")).read_text().splitlines():
        _, x, y, w, h = map(float, line.split())
        boxes.append(
            ((x - w / 2) * width, (y - h / 2) * height, (x + w / 2) * width, (y + h / 2) * height)
        )
    return np.asarray(image, dtype=np.uint8), boxes


def vehicle_around(plate: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A vehicle box as a detector gives it for a car seen from the front: the plate low in it."""
    x1, y1, x2, y2 = plate
    w, h = x2 - x1, y2 - y1
    return (x1 - 1.2 * w, y1 - 4.0 * h, x2 + 1.2 * w, y2 + 0.8 * h)


def frames_of(image: np.ndarray, count: int, moving: frozenset[int] = frozenset()) -> list[Frame]:
    """`count` frames at 25 fps showing `image`; those in `moving` shifted 8 px a frame (a
    vehicle going by), so that neighbours differ. The others share one array, as cheap as the
    pipeline's references."""
    return [
        Frame(
            image=np.ascontiguousarray(np.roll(image, 8 * i, axis=1)) if i in moving else image,
            seq=i,
            captured_at=T0 + timedelta(seconds=i / FPS),
            monotonic=time.monotonic(),
        )
        for i in range(count)
    ]


def violation(
    frames: list[Frame], key: int, vehicle: tuple[float, float, float, float]
) -> Violation:
    """A red-light violation whose track has the vehicle at `vehicle` on every frame."""
    return Violation.model_validate(
        {
            "behaviour": "red_light",
            "experimental": False,
            "rule_version": "red_light/1",
            "occurred_at": frames[key].captured_at,
            "vehicle_class": "car",
            "track_id": 7,
            "confidence": 0.8,
            "track": [
                {"t": f.captured_at, "frame_seq": f.seq, "box": clamp(vehicle, f), "score": 0.8}
                for f in frames
            ],
        }
    )


def clamp(box: tuple[float, float, float, float], frame: Frame) -> list[float]:
    x1, y1, x2, y2 = box
    return [max(x1, 0), max(y1, 0), min(x2, frame.width), min(y2, frame.height)]


def decode(data: bytes) -> np.ndarray:
    return np.asarray(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))


def error(decoded: np.ndarray, original: np.ndarray) -> float:
    """Mean absolute difference per pixel value."""
    return float(np.mean(np.abs(decoded.astype(np.int16) - original.astype(np.int16))))


def close_to(decoded: np.ndarray, original: np.ndarray) -> bool:
    """Same size, and within JPEG's error of the original pixels (nothing drawn, no resampling)."""
    return decoded.shape == original.shape and error(decoded, original) < 4.0


def test_scene_at_is_the_key_frame_at_full_size_and_the_others_are_reduced() -> None:
    image, plates = plates_image("clip4_new_0.jpg")
    key_index = 60
    frames = frames_of(image, 90, frozenset({key_index - 1, key_index, key_index + 1}))
    ring = FrameRing(small_width=1280)
    for frame in frames[: key_index + 5]:  # the rules report it a few frames after the line
        ring.add(frame, full=True)
    event = violation(frames, key_index, vehicle_around(plates[0]))
    key = find_key_frame(ring, event, key_index)
    assert key is not None and key.exact
    at = key.frame.captured_at
    before = ring.small_near(at - timedelta(seconds=1), before=at)
    after_request = ring.request_after(at + timedelta(seconds=1))
    for frame in frames[key_index + 5 :]:
        ring.add(frame, full=True)
    after = after_request.frame
    stills = {s.role: s for s in scene_stills(key, before, after, quality=QUALITY, max_width=1280)}

    scene_at = stills[MediaRole.scene_at]
    assert (scene_at.seq, scene_at.captured_at) == (key_index, frames[key_index].captured_at)
    assert (scene_at.width, scene_at.height) == (1920, 1080)
    decoded = decode(scene_at.data)
    assert close_to(decoded, frames[key_index].image)
    nearest = min(
        (key_index - 1, key_index, key_index + 1), key=lambda i: error(decoded, frames[i].image)
    )
    assert nearest == key_index  # that very frame, not a neighbour
    for role, direction in ((MediaRole.scene_before, -1), (MediaRole.scene_after, 1)):
        still = stills[role]
        assert still.width <= 1280 and decode(still.data).shape[1] == still.width
        offset = (still.captured_at - at).total_seconds()
        assert abs(offset - direction * 1.0) <= ring.small_step.total_seconds()


def test_the_plate_crop_is_the_frames_own_pixels_around_the_plate() -> None:
    image, plates = plates_image("clip4_new_0.jpg")
    frames = frames_of(image, 5)
    ring = FrameRing()
    for frame in frames:
        ring.add(frame, full=True)
    event = violation(frames, 0, vehicle_around(plates[0]))
    key = find_key_frame(ring, event, 0)
    assert key is not None
    (crop,) = crop_stills(key, event, quality=QUALITY)
    assert crop.role is MediaRole.plate_crop and crop.box is not None
    x1, y1, x2, y2 = crop.box
    px1, py1, px2, py2 = plates[0]
    assert x1 <= px1 and y1 <= py1 and x2 >= px2 and y2 >= py2  # the whole labelled plate
    assert (crop.width, crop.height) == (x2 - x1, y2 - y1)  # one crop pixel per frame pixel
    assert close_to(decode(crop.data), image[y1:y2, x1:x2])
    assert crop.width < 4 * (px2 - px1)  # the locator found the plate, not just the vehicle


@pytest.mark.parametrize("locate", [True, False])
def test_the_plate_region_holds_each_labelled_motorbike_plate(locate: bool) -> None:
    image, plates = plates_image("clip3_new_8.jpg")
    for plate in plates:
        x1, y1, x2, y2 = plate
        w, h = x2 - x1, y2 - y1
        rear = (x1 - 0.6 * w, y1 - 3.0 * h, x2 + 0.6 * w, y2 + 0.4 * h)  # a bike from behind
        box = plate_box(image, rear, locate=locate)
        assert box is not None
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        assert box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def test_a_helmet_violation_gets_the_riders_crop_unscaled() -> None:
    image, plates = plates_image("clip3_new_8.jpg")
    frames = frames_of(image, 3)
    ring = FrameRing()
    for frame in frames:
        ring.add(frame, full=True)
    x1, y1, x2, y2 = plates[1]
    bike = (x1 - 100, y1 - 420, x2 + 100, y2 + 50)
    rider = (x1 - 40.0, y1 - 400.0, x2 + 40.0, y1 - 40.0)
    data = violation(frames, 1, bike).model_dump()
    data.update(
        behaviour="no_helmet",
        experimental=True,
        rule_version="helmet/1",
        vehicle_class="motorbike",
        helmet={
            "riders": [
                {
                    "position": "driver",
                    "head_box": [rider[0], rider[1], rider[2], rider[1] + 120],
                    "helmet_score": 0.1,
                    "person_box": list(rider),
                }
            ]
        },
    )
    event = Violation.model_validate(data)
    key = find_key_frame(ring, event, 1)
    assert key is not None
    crops = {s.role: s for s in crop_stills(key, event, quality=QUALITY)}
    crop = crops[MediaRole.rider_crop]
    assert crop.box is not None
    cx1, cy1, cx2, cy2 = crop.box
    assert cx1 <= rider[0] and cy1 <= rider[1] and cx2 >= rider[2] and cy2 >= rider[3]
    assert (crop.width, crop.height) == (cx2 - cx1, cy2 - cy1)
    assert close_to(decode(crop.data), frames[1].image[cy1:cy2, cx1:cx2])


def test_a_key_frame_the_ring_let_go_is_replaced_by_the_nearest_frame_of_the_vehicle() -> None:
    image, plates = plates_image("clip4_new_0.jpg")
    frames = frames_of(image, 80)
    ring = FrameRing(full_s=1.0, max_full=10)
    for frame in frames:
        ring.add(frame, full=True)
    event = violation(frames, 20, vehicle_around(plates[0]))
    key = find_key_frame(ring, event, 20)
    assert key is not None and not key.exact
    held = [f.seq for f in ring.full_frames()]
    assert key.frame.seq == min(held)  # the nearest in time still held
    assert key.vehicle_box == event.track[key.frame.seq].box
    (crop,) = crop_stills(key, event, quality=QUALITY)
    assert crop.seq == key.frame.seq and crop.captured_at == key.frame.captured_at


def test_the_ring_stays_bounded_and_keeps_reduced_copies_only() -> None:
    image, _ = plates_image("clip4_new_0.jpg")
    ring = FrameRing(full_s=1.5, max_full=20, small_width=1280, small_step_s=0.2, small_s=3.0)
    for frame in frames_of(image, 250):  # 10 s at 25 fps
        ring.add(frame, full=True)
    full, small, requests = ring.sizes()
    assert full == 20 and requests == 0
    assert small <= 3.0 / 0.2 + 1
    reduced = ring.small_near(T0 + timedelta(seconds=9))
    assert reduced is not None and reduced.width == 1280 and reduced.height == 720
