"""Rows of a plate region: halves of a two-line block, a lone line's neighbours, line pieces."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np

from plates import PlateHint, PlateReader, load_grammar
from plates.locate import find_candidates
from plates.rows import hypotheses, rows_of, split_lines
from protocol.enums import PlateColour, VehicleClass
from tests.plates.synth import random_text, render_plate

GRAMMAR = load_grammar()
COLOURS = {"foreign": PlateColour.white, "economic_zone": PlateColour.yellow}  # as synth.py


def crop(plate: object) -> np.ndarray:
    """The plate's box in its image."""
    x1, y1, x2, y2 = (int(round(v)) for v in plate.box)  # type: ignore[attr-defined]
    return plate.image[y1:y2, x1:x2]  # type: ignore[attr-defined,no-any-return]


def test_a_small_blurred_two_line_block_splits_at_its_shallow_gap(font: Path) -> None:
    plate = render_plate("73AA12345", shape="motorbike", lines=2, height=28, blur=0.6)
    block = np.asarray(cv2.resize(crop(plate), None, fx=1.4, fy=1.4), np.uint8)
    halves = split_lines(block)
    assert halves is not None
    top, bottom = halves
    assert abs(top.shape[0] - bottom.shape[0]) <= 0.25 * block.shape[0]


def test_a_lone_line_gets_neighbours_that_pair_only_with_it(font: Path) -> None:
    plate = render_plate("73AA12345", shape="motorbike", lines=2, height=80)
    region = plate.image
    lines = find_candidates(region)[0].lines
    bottom = lines[-1].quad(0.25)
    rows = rows_of(region, [bottom])  # as if only the lower line had been found
    kinds = [r.kind for r in rows]
    assert kinds.count("neighbour") == 2 and kinds.count("row") == 1
    pairs = [g for g in hypotheses(rows) if len(g) == 2]
    assert pairs and all({rows[i].kind for i in g} == {"row", "neighbour"} for g in pairs)
    above = next(r for r in rows if r.kind == "neighbour" and r.centre < rows[1].centre)
    # The neighbour above lands on the plate's upper line.
    top_line = lines[0]
    assert top_line.box[1] - top_line.height <= above.centre <= top_line.box[3]


def test_line_pieces_across_a_wide_separator_make_one_line() -> None:
    image = np.full((200, 600, 3), 230, np.uint8)
    x = 60
    for i in range(8):
        cv2.putText(image, "8", (x, 120), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (20, 20, 20), 4)
        x += 34 + (40 if i == 2 else 0)  # a wide gap after three characters, as a dash leaves
    best = find_candidates(image)[0]
    assert len(best.lines) == 1 and len(best.lines[0].chars) == 8


def test_small_blurred_two_line_plates_are_mostly_read(reader: PlateReader, font: Path) -> None:
    """Two-line plates of every shape 20-25 px high, blurred (sigma 0.8), turned, in colour: the
    issue's hard case. Compared as §5 says (`D` accepted for `Đ`: here its stroke is a pixel).

    The reader before the neighbour lines, the shallow splits and the second look read 15 of
    these 24; it now reads 20.
    """
    shapes = [s for s in GRAMMAR.spec.shapes if 2 in s.layouts]
    hits = 0
    for i, shape in enumerate(shapes * 3):
        rng = random.Random(f"small:{i}")
        colour = COLOURS.get(shape.name) or rng.choice(list(PlateColour)[:3])
        text = random_text(GRAMMAR, shape.name, colour, rng)
        turn = (rng.uniform(-12, 12), rng.uniform(-8, 8), rng.uniform(-5, 5))
        plate = render_plate(
            text,
            shape=shape.name,
            lines=2,
            colour=colour,
            height=20 + i % 6,
            turn=turn,
            blur=0.8,
            rng=rng,
        )
        readings = reader.read(plate.image, PlateHint(vehicle=VehicleClass(plate.vehicle)))
        key = GRAMMAR.search_key
        hits += bool(readings) and key(readings[0].text) == key(text)
    assert hits >= 18  # of 24
