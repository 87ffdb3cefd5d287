"""The stills of a violation: clean JPEGs (nothing drawn on them) cut from the frames kept.

- `scene_at`: the frame at the line (the event's key frame), at full resolution;
- `scene_before` / `scene_after`: the frames about `BEFORE_S` before and `AFTER_S` after it,
  at most `still_max_width` wide (the server draws the data bar; a reviewer sees the approach and
  the vehicle inside the junction);
- `plate_crop`: the plate of the offending vehicle in the key frame, cut from the
  full-resolution frame and never rescaled. The `plates` locator (character blobs, ~10 ms on a
  vehicle's lower part) finds it within the lower part of the vehicle's box; where it finds
  nothing, that lower part itself is the crop (the server's reader searches a crop for the plate);
- `rider_crop` (helmet rules): the offending rider's box in the key frame, never rescaled.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np

from edge_agent.evidence.frames import FrameRing, Image, KeptFrame, downscale
from plates.locate import find_candidates
from protocol.enums import BehaviourCode, MediaRole, RiderPosition
from protocol.violation import TrackPoint, Violation

logger = logging.getLogger(__name__)

BEFORE_S = 1.0
AFTER_S = 1.0
PLATE_REGION_TOP = 0.4  # a plate sits in the lower 60 % of a vehicle's box, front or rear
PLATE_PAD = (0.25, 0.5)  # around a located plate: share of its width, of its height
RIDER_PAD = 0.1  # around a rider's box, share of its height
NEAR_S = 0.2  # a vehicle box this close in time stands in for one on the key frame itself
Box = tuple[float, float, float, float]
PixelBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class Still:
    """One encoded still and what it shows."""

    role: MediaRole
    data: bytes
    width: int
    height: int
    seq: int  # the frame it was cut from
    captured_at: datetime
    box: PixelBox | None = None  # a crop's region in the frame, pixels [x1, y1, x2, y2)


@dataclass(frozen=True)
class KeyFrame:
    """The full-resolution frame the stills are cut from, and the vehicle's box on it."""

    frame: KeptFrame
    vehicle_box: Box | None
    exact: bool  # the event's own key frame (False: the nearest the ring still held)


def encode_jpeg(image: Image, quality: int) -> bytes:
    """A baseline JPEG of a BGR image at `quality` (1..100)."""
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buffer)


def pixel_box(
    box: Box, width: int, height: int, pad_x: float = 0, pad_y: float = 0
) -> PixelBox | None:
    """`box` grown by the pads, in whole pixels inside a `width`×`height` frame; None if empty."""
    x1, y1, x2, y2 = box
    left = max(0, int(np.floor(x1 - pad_x)))
    top = max(0, int(np.floor(y1 - pad_y)))
    right = min(width, int(np.ceil(x2 + pad_x)))
    bottom = min(height, int(np.ceil(y2 + pad_y)))
    if right - left < 2 or bottom - top < 2:
        return None
    return left, top, right, bottom


def cut(image: Image, box: PixelBox) -> Image:
    """The pixels of `box`, exactly as they are in the frame (never resampled)."""
    x1, y1, x2, y2 = box
    return image[y1:y2, x1:x2]


def plate_box(image: Image, vehicle: Box, *, locate: bool = True) -> PixelBox | None:
    """Where to cut the plate crop: the located plate, padded, else the vehicle's lower part."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = vehicle
    region = pixel_box((x1, y1 + PLATE_REGION_TOP * (y2 - y1), x2, y2), width, height)
    if region is None or not locate:
        return region
    rx, ry = region[0], region[1]
    prior = (x1 - rx, y1 - ry, x2 - rx, y2 - ry)
    candidates = find_candidates(cut(image, region), prior, limit=1)
    if not candidates:
        return region
    px1, py1, px2, py2 = candidates[0].box
    pad_x, pad_y = PLATE_PAD[0] * (px2 - px1), PLATE_PAD[1] * (py2 - py1)
    plate = pixel_box((px1 + rx, py1 + ry, px2 + rx, py2 + ry), width, height, pad_x, pad_y)
    return plate or region


def rider_box(violation: Violation) -> Box | None:
    """The offending rider's box: the lowest helmet score among the riders the rule is about."""
    if violation.helmet is None:
        return None
    passenger = violation.behaviour is BehaviourCode.passenger_no_helmet
    wanted = RiderPosition.passenger if passenger else RiderPosition.driver
    riders = [
        r for r in violation.helmet.riders if r.person_box is not None and r.position is wanted
    ]
    if not riders:
        return None
    worst = min(riders, key=lambda r: r.helmet_score)
    return worst.person_box


def _point_at(track: Sequence[TrackPoint], frame: KeptFrame) -> TrackPoint | None:
    """The vehicle's box on `frame`; else (a helmet rule's key frame is the rider's best, where
    the bike may have gone undetected) its detection within `NEAR_S` of it."""
    exact = next((p for p in track if p.frame_seq == frame.seq), None)
    if exact is not None or not track:
        return exact
    nearest = min(track, key=lambda p: abs((p.t - frame.captured_at).total_seconds()))
    return nearest if abs((nearest.t - frame.captured_at).total_seconds()) <= NEAR_S else None


def find_key_frame(ring: FrameRing, violation: Violation, frame_seq: int) -> KeyFrame | None:
    """The event's key frame at full resolution; when the ring no longer holds it, the held frame
    nearest in time on which the vehicle was detected; None when there is none."""
    track = violation.track
    exact = ring.full_frame(frame_seq)
    if exact is not None:
        point = _point_at(track, exact)
        return KeyFrame(exact, None if point is None else point.box, True)
    at = next((p.t for p in track if p.frame_seq == frame_seq), violation.occurred_at)
    tracked = {p.frame_seq: p for p in track}
    held = [f for f in ring.full_frames() if f.seq in tracked]
    if not held:
        return None
    nearest = min(held, key=lambda f: abs((f.captured_at - at).total_seconds()))
    return KeyFrame(nearest, tracked[nearest.seq].box, False)


def scene_stills(
    key: KeyFrame | None,
    before: KeptFrame | None,
    after: KeptFrame | None,
    *,
    quality: int,
    max_width: int,
) -> list[Still]:
    """`scene_before`, `scene_at`, `scene_after`, for those frames there are."""
    stills = []
    for role, frame, full in (
        (MediaRole.scene_before, before, False),
        (MediaRole.scene_at, key.frame if key is not None else None, True),
        (MediaRole.scene_after, after, False),
    ):
        if frame is None:
            continue
        image = frame.image if full else downscale(frame.image, max_width)
        height, width = image.shape[:2]
        data = encode_jpeg(image, quality)
        stills.append(Still(role, data, width, height, frame.seq, frame.captured_at))
    return stills


def crop_stills(
    key: KeyFrame, violation: Violation, *, quality: int, locate: bool = True
) -> list[Still]:
    """`plate_crop` (and `rider_crop` for helmet rules) from the full-resolution key frame."""
    frame = key.frame
    stills = []
    boxes: list[tuple[MediaRole, PixelBox | None]] = []
    if key.vehicle_box is not None:
        boxes.append((MediaRole.plate_crop, plate_box(frame.image, key.vehicle_box, locate=locate)))
    rider = rider_box(violation) if key.exact else None  # the rider's box is for the key frame
    if rider is not None:
        pad = RIDER_PAD * (rider[3] - rider[1])
        boxes.append((MediaRole.rider_crop, pixel_box(rider, frame.width, frame.height, pad, pad)))
    for role, box in boxes:
        if box is None:
            continue
        image = cut(frame.image, box)
        data = encode_jpeg(image, quality)
        height, width = image.shape[:2]
        stills.append(Still(role, data, width, height, frame.seq, frame.captured_at, box))
    return stills
