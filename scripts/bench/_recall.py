"""vehicle_recall: does the detector find the vehicle behind every labelled plate?

On `../shared/data/vn_plates` (MIT, © 2023 Mai Chí Bảo; 48 frames of 1920×1080, 83 plate boxes in
YOLO format under `labels/`): the share of labelled plates that lie at least 90 % inside a
detected car, motorbike, bus or truck box that covers at most 60 % of the frame (a box that fills
the frame says nothing about where the vehicle is). Evaluation code, not box code: it lives here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
VEHICLES = frozenset({"car", "motorbike", "bus", "truck"})
MIN_INSIDE = 0.90
MAX_FRAME_SHARE = 0.60

Box = tuple[float, float, float, float]


def shared_data_dir() -> Path:
    """`$TW_SHARED_DATA`, else `../shared/data` beside the repository."""
    return Path(os.environ.get("TW_SHARED_DATA") or ROOT.parent / "shared" / "data")


def plates_dir(data_dir: Path) -> Path:
    """Accept the shared data root or the `vn_plates` folder itself."""
    return data_dir / "vn_plates" if (data_dir / "vn_plates").is_dir() else data_dir


def load_plate_boxes(label_file: Path, width: int, height: int) -> list[Box]:
    """Plate boxes in pixels from a YOLO label file (class cx cy w h, normalised)."""
    boxes: list[Box] = []
    for line in label_file.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) != 5:
            continue
        cx, cy, w, h = (float(v) for v in fields[1:])
        x1, y1 = (cx - w / 2) * width, (cy - h / 2) * height
        boxes.append((x1, y1, x1 + w * width, y1 + h * height))
    return boxes


def share_inside(inner: Box, outer: Box) -> float:
    """Share of `inner`'s area that lies inside `outer`."""
    w = max(0.0, min(inner[2], outer[2]) - max(inner[0], outer[0]))
    h = max(0.0, min(inner[3], outer[3]) - max(inner[1], outer[1]))
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return w * h / area if area > 0 else 0.0


def plate_found(plate: Box, detections: Sequence[Any], width: int, height: int) -> bool:
    """Whether a vehicle box small enough to mean something holds ≥ 90 % of the plate."""
    frame_area = width * height
    for det in detections:
        x1, y1, x2, y2 = det.box
        if det.label not in VEHICLES or (x2 - x1) * (y2 - y1) > MAX_FRAME_SHARE * frame_area:
            continue
        if share_inside(plate, det.box) >= MIN_INSIDE:
            return True
    return False


def frames(data_dir: Path) -> list[tuple[str, np.ndarray, list[Box]]]:
    """(image name, BGR frame, plate boxes) for every labelled image."""
    folder = plates_dir(data_dir)
    items = []
    for image_path in sorted((folder / "images").glob("*.jpg")):
        frame = cv2.imread(str(image_path))
        if frame is None:
            continue
        label_file = folder / "labels" / f"{image_path.stem}.txt"
        height, width = frame.shape[:2]
        plates = load_plate_boxes(label_file, width, height) if label_file.exists() else []
        items.append((image_path.name, frame, plates))
    if not items:
        raise FileNotFoundError(f"no labelled images under {folder}")
    return items


def vehicle_recall(detector: Any, data_dir: Path) -> dict[str, Any]:
    """Run `detector` on every vn_plates frame; recall and what it took (see module docstring)."""
    found = total = boxes = 0
    missed: list[str] = []
    seconds = 0.0
    items = frames(data_dir)
    for name, frame, plates in items:
        start = time.perf_counter()
        detections = detector.detect(frame)
        seconds += time.perf_counter() - start
        boxes += len(detections)
        height, width = frame.shape[:2]
        for index, plate in enumerate(plates):
            total += 1
            if plate_found(plate, detections, width, height):
                found += 1
            else:
                missed.append(f"{name}#{index}")
    return {
        "vehicle_recall": round(found / total, 4) if total else 0.0,
        "plates": total,
        "plates_found": found,
        "frames": len(items),
        "boxes_per_frame": round(boxes / len(items), 2),
        "ms_per_frame": round(seconds * 1e3 / len(items), 2),
        "missed": missed,
    }
