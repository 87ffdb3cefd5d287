"""Plate colours: white, yellow, blue and red backgrounds told apart from their text lines."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from plates.colour import classify_colour
from protocol.enums import PlateColour

BGR = {  # background, characters
    PlateColour.white: ((230, 232, 228), (30, 30, 30)),
    PlateColour.yellow: ((40, 195, 230), (30, 30, 30)),
    PlateColour.blue: ((150, 80, 25), (235, 235, 235)),
    PlateColour.red: ((35, 35, 185), (235, 235, 235)),
}


def line(colour: PlateColour, text: str = "12345") -> np.ndarray:
    """A rectified text line of that plate colour."""
    background, ink = BGR[colour]
    image = np.full((40, 160, 3), background, np.uint8)
    cv2.putText(image, text, (8, 32), cv2.FONT_HERSHEY_SIMPLEX, 1.1, ink, 3, cv2.LINE_AA)
    return image


@pytest.mark.parametrize("colour", list(PlateColour))
def test_each_background_colour_is_recognised(colour: PlateColour) -> None:
    assert classify_colour([line(colour), line(colour, "73-AA")]) is colour


def test_a_white_plate_under_warm_light_is_still_white() -> None:
    tinted = line(PlateColour.white).astype(np.int16) + np.array([-25, 0, 10], np.int16)
    assert classify_colour([np.clip(tinted, 0, 255).astype(np.uint8)]) is PlateColour.white


def test_an_image_without_text_or_colour_gives_no_verdict() -> None:
    assert classify_colour([np.full((40, 160, 3), 128, np.uint8)]) is None
    assert classify_colour([]) is None
