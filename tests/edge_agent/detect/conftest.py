"""Fixtures for the detector tests: real frames from `vn_plates`, verified models, detectors.

The frames come from `$TW_SHARED_DATA` (default `<repo>/../shared/data`); the models from
`$TW_MODELS_DIR` when they are installed there (CI installs them), else they are installed for the
session from `$TW_SHARED_MODELS` (default `<repo>/../shared/models`). Tests skip, saying what is
missing, where either is absent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_agent.detect import StagedDetector, create_detector
from edge_agent.models_install import install
from edge_agent.models_store import load_manifest, verify_installed

ROOT = Path(__file__).resolve().parents[3]


def shared_data() -> Path:
    """The shared real-data folder."""
    return Path(os.environ.get("TW_SHARED_DATA") or ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def vn_plates() -> Path:
    """`vn_plates`: 48 real 1920×1080 frames of Vietnamese motorbikes and a car, plates labelled."""
    folder = shared_data() / "vn_plates"
    if not (folder / "images").is_dir():
        pytest.skip(f"real frames absent ({folder}); set TW_SHARED_DATA to the shared data folder")
    return folder


def read_frame(vn_plates: Path, name: str) -> np.ndarray:
    """One frame, BGR."""
    frame = cv2.imread(str(vn_plates / "images" / name))
    assert frame is not None, name
    return frame


def plate_boxes(vn_plates: Path, name: str) -> list[tuple[float, float, float, float]]:
    """The labelled plate boxes of a 1920×1080 frame, in pixels."""
    boxes = []
    text = (vn_plates / "labels" / f"{Path(name).stem}.txt").read_text()
    for line in text.splitlines():
        _, cx, cy, w, h = (float(v) for v in line.split())
        x1, y1 = (cx - w / 2) * 1920, (cy - h / 2) * 1080
        boxes.append((x1, y1, x1 + w * 1920, y1 + h * 1080))
    return boxes


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with both detectors installed and verified."""
    manifest = load_manifest()
    env = os.environ.get("TW_MODELS_DIR")
    if env:
        names = [entry.name for entry in manifest.models]
        if not verify_installed(manifest, Path(env), names)[1]:  # every model there and intact
            return Path(env)
    source = Path(os.environ.get("TW_SHARED_MODELS") or ROOT.parent / "shared" / "models")
    if not source.is_dir():
        pytest.skip(f"models absent: no TW_MODELS_DIR and no {source} to install from")
    dest = tmp_path_factory.mktemp("models")
    install(manifest, dest, source_dir=source, stream=None)
    return dest


@pytest.fixture(scope="session")
def yolox(models_dir: Path) -> Iterator[StagedDetector]:
    """The default detector, YOLOX-nano, at its tuned thresholds."""
    detector = create_detector("yolox_nano", models_dir=models_dir, threads=2)
    yield detector
    detector.close()


@pytest.fixture(scope="session")
def ssd(models_dir: Path) -> Iterator[StagedDetector]:
    """SSD MobileNet V2 at its tuned thresholds."""
    detector = create_detector("ssd_mobilenet_v2", models_dir=models_dir, threads=2)
    yield detector
    detector.close()
