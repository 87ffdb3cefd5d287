"""The reader end to end: synthetic plates of every shape, several plates, crops, the real set."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from plates import PlateHint, PlateReader, PlateReading, load_grammar
from protocol.enums import PlateColour, VehicleClass
from protocol.evidence import PlateCandidate
from tests.plates.conftest import LabelledBox
from tests.plates.synth import random_text, render_plate

GRAMMAR = load_grammar()
SHAPES = [(shape.name, lines) for shape in GRAMMAR.spec.shapes for lines in shape.layouts]


def center_in(reading: PlateReading, box: tuple[float, ...]) -> bool:
    """Whether a reading's plate lies on a box."""
    cx, cy = (reading.box[0] + reading.box[2]) / 2, (reading.box[1] + reading.box[3]) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


@pytest.mark.parametrize(("shape", "lines"), SHAPES, ids=[f"{s}-{n}" for s, n in SHAPES])
def test_every_shape_is_read_exactly_and_printed(
    reader: PlateReader, font: Path, shape: str, lines: int
) -> None:
    rng = random.Random(f"reader:{shape}:{lines}")
    text = random_text(GRAMMAR, shape, PlateColour.white, rng)
    plate = render_plate(text, shape=shape, lines=lines, height=70, turn=(12.0, 6.0, -4.0))
    readings = reader.read(plate.image, PlateHint(vehicle=plate.vehicle))
    top = readings[0]
    assert (top.text, top.lines, top.shape) == (text, lines, shape)
    assert top.printed.split(" ") == list(plate.printed) or lines == 1
    assert top.colour is PlateColour.white


@pytest.mark.parametrize("colour", [PlateColour.yellow, PlateColour.blue, PlateColour.red])
def test_coloured_plates_are_read_and_their_colour_told(
    reader: PlateReader, font: Path, colour: PlateColour
) -> None:
    plate = render_plate("30E55555", shape="car", lines=2, colour=colour, height=80)
    top = reader.read(plate.image, PlateHint(vehicle=VehicleClass.car))[0]
    assert (top.text, top.colour) == ("30E55555", colour)


def test_a_tight_one_line_crop_is_read_as_a_plate_crop(reader: PlateReader, font: Path) -> None:
    plate = render_plate("43A99731", shape="car", lines=1, height=50)
    x1, y1, x2, y2 = (int(round(v)) for v in plate.box)
    crop = plate.image[y1 + 2 : y2 - 2, x1 + 2 : x2 - 2]  # the text nearly touches the edges
    top = reader.read(crop, PlateHint(plate_crop=True))[0]
    assert top.text == "43A99731" and top.lines == 1


def test_two_plates_in_one_image_are_two_ranked_plates(reader: PlateReader, font: Path) -> None:
    a = render_plate("29A12345", shape="car", lines=1, height=45).image
    b = render_plate("30-AB 678.90", shape="motorbike", lines=2, height=90).image
    h = max(a.shape[0], b.shape[0])
    pad = [np.pad(im, ((0, h - im.shape[0]), (0, 0), (0, 0)), mode="edge") for im in (a, b)]
    readings = reader.read(np.concatenate(pad, axis=1))
    tops: dict[int, str] = {}
    for reading in readings:  # ranked: the first of each plate is its top reading
        tops.setdefault(reading.plate_index, reading.text)
    assert sorted(tops.values()) == ["29A12345", "30AB67890"]
    assert readings == sorted(readings, key=lambda r: -r.confidence)


def test_a_reading_names_its_models_and_fits_the_packet_schema(
    reader: PlateReader, font: Path
) -> None:
    plate = render_plate("73-B1 1234", shape="motorbike_old", lines=2, height=80)
    top = reader.read(plate.image, PlateHint(vehicle=VehicleClass.motorbike))[0]
    assert (top.text, top.printed) == ("73B11234", "73-B1 1234")
    assert {m.name.split(" ")[0] for m in top.models} == {
        "PP-OCRv6_det_small",
        "PP-OCRv6_rec_small",
    }
    assert all(len(m.sha256) == 64 for m in top.models)
    candidate = PlateCandidate.model_validate(top.to_candidate().model_dump())
    assert candidate.text == "73B11234" and candidate.lines == 2
    assert top.to_dict()["grammar_version"] == GRAMMAR.version


@pytest.mark.parametrize(
    "image",
    [np.full((240, 320, 3), 120, np.uint8), np.zeros((16, 16, 3), np.uint8)],
    ids=["blank", "tiny"],
)
def test_an_image_without_a_plate_gives_no_reading(reader: PlateReader, image: np.ndarray) -> None:
    assert reader.read(image) == []
    assert reader.read(image, PlateHint(plate_crop=True)) == []


def test_real_frames_read_their_clear_plates(
    reader: PlateReader, vn_plates: list[LabelledBox]
) -> None:
    """A few frames of the shared set: motorbikes (three plates), a car front and back."""
    by_image: dict[Path, list[LabelledBox]] = {}
    for box in vn_plates:
        by_image.setdefault(box.image, []).append(box)
    # The frame with the most plates, and one of each car layout.
    frames = [max(by_image, key=lambda p: len(by_image[p]))]
    for lines in (1, 2):
        frames.append(
            next(p for p, b in by_image.items() if b[0].vehicle == "car" and b[0].lines == lines)
        )
    for frame in frames:
        readings = reader.read(np.asarray(cv2.imread(str(frame))))
        for box in by_image[frame]:
            mine = [r for r in readings if center_in(r, box.box)]
            assert mine, f"no plate found at {box.box} in {frame.name}"
            top = mine[0]
            if box.quality == "clear":
                assert GRAMMAR.search_key(top.text) == GRAMMAR.search_key(box.text)
            elif top.auto_accept:
                assert GRAMMAR.search_key(top.text) == GRAMMAR.search_key(box.text)


def test_a_real_labelled_crop_is_read_as_a_plate_crop(
    reader: PlateReader, vn_plates: list[LabelledBox]
) -> None:
    box = next(b for b in vn_plates if b.quality == "clear" and b.vehicle == "motorbike")
    x1, y1, x2, y2 = (int(v) for v in box.box)
    crop = np.asarray(cv2.imread(str(box.image)))[y1:y2, x1:x2]
    top = reader.read(crop, PlateHint(plate_crop=True, vehicle=VehicleClass.motorbike))[0]
    assert GRAMMAR.search_key(top.text) == GRAMMAR.search_key(box.text)
    assert top.lines == 2
