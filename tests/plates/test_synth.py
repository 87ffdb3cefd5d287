"""The synthetic plate set covers what the benchmark claims: every shape, both layouts, 20 px."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plates import load_grammar
from tests.plates.synth import MAX_TURN_DEG, MIN_PLATE_H, synth_plate, synth_set

GRAMMAR = load_grammar()


def test_the_set_spans_every_shape_layout_colour_and_degradation(font: Path) -> None:
    plates = list(synth_set(200, seed=3))  # the benchmark renders 500 of the same kind
    assert {p.shape for p in plates} == {s.name for s in GRAMMAR.spec.shapes}
    assert {p.lines for p in plates} == {1, 2}
    assert {(p.shape, p.lines) for p in plates} == {
        (s.name, n) for s in GRAMMAR.spec.shapes for n in s.layouts
    }
    assert len({p.colour for p in plates}) == 4
    assert min(p.plate_height for p in plates) <= MIN_PLATE_H + 2
    assert max(max(abs(a) for a in p.turn) for p in plates) <= MAX_TURN_DEG
    assert any(p.glare for p in plates) and any(p.blur > 0.5 for p in plates)
    for plate in plates:
        assert GRAMMAR.match(plate.text, lines=plate.lines, shapes=[plate.shape]) is not None
        x1, y1, x2, y2 = plate.box
        assert 0 <= x1 < x2 <= plate.image.shape[1] and 0 <= y1 < y2 <= plate.image.shape[0]


def test_a_seed_gives_the_same_plates(font: Path) -> None:
    a, b = synth_plate(17, seed=5), synth_plate(17, seed=5)
    assert a.text == b.text and np.array_equal(a.image, b.image)
    assert synth_plate(17, seed=6).text != a.text
