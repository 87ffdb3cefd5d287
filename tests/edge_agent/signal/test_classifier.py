"""The light classifier: which lamp is lit, and in which colour."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_agent.signal.classifier import ClassifierSignal, LightClassifier
from protocol.config import LightRegion
from protocol.enums import LampLayout, SignalPhase
from tests.scenes.render import draw_light

LAMPS = (SignalPhase.red, SignalPhase.amber, SignalPhase.green)
COLOURS = {
    SignalPhase.red: (60, 40, 230),
    SignalPhase.amber: (0, 160, 250),
    SignalPhase.green: (200, 240, 30),
}


def head(
    lit: SignalPhase | None,
    *,
    colour: SignalPhase | None = None,
    background: tuple[int, int, int] = (200, 200, 200),
) -> np.ndarray:
    """A vertical three-lamp head, 40×100, with lamp `lit` shining in `colour` (its own)."""
    img = np.full((120, 60, 3), background, dtype=np.uint8)
    cv2.rectangle(img, (10, 10), (50, 110), (30, 30, 30), -1)
    for n, lamp in enumerate(LAMPS):
        centre = (30, 10 + 100 * (2 * n + 1) // 6)
        shade = COLOURS[colour or lamp] if lamp is lit else (50, 50, 50)
        cv2.circle(img, centre, 13, shade, -1)
    return cv2.GaussianBlur(img[10:110, 10:50], (3, 3), 0)


@pytest.mark.parametrize("phase", LAMPS)
def test_reads_the_lit_lamp(phase: SignalPhase) -> None:
    reading = LightClassifier().classify(head(phase))
    assert reading.phase is phase and reading.confidence > 0.5


def test_all_dark_is_unknown() -> None:
    assert LightClassifier().classify(head(None)).phase is SignalPhase.unknown


def test_position_decides_against_a_stray_hue() -> None:
    # A red glare on the green lamp's position is no red light: the red lamp is dark.
    assert (
        LightClassifier().classify(head(SignalPhase.green, colour=SignalPhase.red)).phase
        is not SignalPhase.red
    )


def test_a_blue_sky_behind_the_head_is_not_green() -> None:
    sky = head(SignalPhase.red, background=(230, 150, 60))
    assert LightClassifier().classify(sky).phase is SignalPhase.red


def test_horizontal_heads_read_left_to_right() -> None:
    rotated = np.ascontiguousarray(np.rot90(head(SignalPhase.red), k=1))  # red lamp now on the left
    assert LightClassifier(LampLayout.horizontal).classify(rotated).phase is SignalPhase.red


def test_empty_crop_is_unknown() -> None:
    assert LightClassifier().classify(np.zeros((1, 1, 3), np.uint8)).phase is SignalPhase.unknown


def test_classifier_signal_reads_the_drawn_scene_light_into_a_timeline() -> None:
    region = LightRegion(box=(1180, 30, 1220, 130))
    signal = ClassifierSignal(region)
    start = datetime(2026, 3, 18, 8, 0, tzinfo=timezone.utc)
    frame = np.full((720, 1280, 3), 80, dtype=np.uint8)
    for k, phase in enumerate(
        [SignalPhase.green] * 20 + [SignalPhase.amber] * 30 + [SignalPhase.red] * 20
    ):
        draw_light(frame, phase)
        signal.observe_frame(frame, start + timedelta(seconds=k / 10))
    red = signal.timeline.interval_at(start + timedelta(seconds=6.5))
    assert red is not None and red.phase is SignalPhase.red
    assert red.start == start + timedelta(seconds=5.0)
    amber = signal.timeline.interval_before(red)
    assert amber is not None and amber.duration_s == pytest.approx(3.0)


def test_accuracy_on_the_shared_crops(light_crops: Path) -> None:
    """The shipped constants on the shared crops (the benchmark cross-validates them)."""
    clf = LightClassifier()
    right: dict[str, list[bool]] = {}
    for name, phase in (
        ("red", SignalPhase.red),
        ("yellow", SignalPhase.amber),
        ("green", SignalPhase.green),
    ):
        for path in sorted((light_crops / name).glob("*.jpg")):
            image = np.asarray(cv2.imread(str(path)), dtype=np.uint8)
            right.setdefault(name, []).append(clf.classify(image).phase is phase)
    every = [ok for oks in right.values() for ok in oks]
    assert sum(every) / len(every) >= 0.99
    assert sum(right["yellow"]) / len(right["yellow"]) >= 0.9
