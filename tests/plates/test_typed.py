"""Plates typed by a reviewer: the typed separators are a hint first, then the vehicle decides."""

from __future__ import annotations

import pytest

from plates import load_grammar
from plates.typed import normalise_typed, read_typed

GRAMMAR = load_grammar()


@pytest.mark.parametrize(
    ("typed", "vehicle", "shape", "lines", "printed"),
    [
        # Separators where the shape prints them are kept, whatever the detector said.
        ("73-A1 2346", "car", "motorbike_old", 2, "73-A1 2346"),
        ("73-A1 2346", "motorbike", "motorbike_old", 2, "73-A1 2346"),
        ("73a-123.46", "motorbike", "car", 1, "73A-123.46"),
        ("73A 123.46", "motorbike", "car", 2, "73A 123.46"),
        ("73A-12346", "car", "car", 1, "73A-12346"),
        ("80-011 NG-01", None, "foreign", 2, "80-011 NG-01"),
        ("29md1-013.53", None, "electric", 1, "29MĐ1-013.53"),
        # No separators, or separators the shape does not print there: the grammar prints it.
        ("73A12346", "motorbike", "motorbike_old", 2, "73-A1 2346"),
        ("73A12346", "car", "car", 1, "73A-123.46"),
        ("73-A1-2346", "motorbike", "motorbike_old", 2, "73-A1 2346"),
        ("73A-12.345", "car", "car", 1, "73A-123.45"),
        ("73-A1  - 2346", "motorbike", "motorbike_old", 2, "73-A1 2346"),
    ],
)
def test_the_typed_form_is_kept_when_valid_for_its_shape(
    typed: str, vehicle: str | None, shape: str, lines: int, printed: str
) -> None:
    plate = read_typed(GRAMMAR, typed, vehicle=vehicle)
    assert plate is not None
    assert (plate.parse.shape, plate.lines, plate.printed) == (shape, lines, printed)
    assert plate.kept == (printed == typed.upper().replace("MD", "MĐ"))


def test_an_explicit_line_count_wins_over_the_typed_form() -> None:
    plate = read_typed(GRAMMAR, "73A-123.46", lines=2, vehicle="car")
    assert plate is not None and (plate.lines, plate.printed) == (2, "73A 123.46")


def test_the_usual_line_count_only_breaks_ties() -> None:
    two = read_typed(GRAMMAR, "30E55555", vehicle="car", usual_lines=2)
    one = read_typed(GRAMMAR, "30E55555", vehicle="car", usual_lines=1)
    assert two is not None and two.printed == "30E 555.55"
    assert one is not None and one.printed == "30E-555.55"
    typed = read_typed(GRAMMAR, "30E-555.55", vehicle="car", usual_lines=2)
    assert typed is not None and typed.printed == "30E-555.55"


@pytest.mark.parametrize("typed", ["13A-123.45", "73I-123.45", "TM-12-34", "73A-123.4567", ""])
def test_text_that_fits_no_shape_gives_nothing(typed: str) -> None:
    assert read_typed(GRAMMAR, typed) is None


def test_a_blue_plate_is_held_to_its_narrower_series() -> None:
    assert read_typed(GRAMMAR, "73N-123.45", colour="blue") is None
    assert read_typed(GRAMMAR, "73C-123.45", colour="blue") is not None


def test_a_plate_outside_every_shape_is_only_tidied() -> None:
    assert normalise_typed(GRAMMAR, "  tm-12   34 ") == "TM-12 34"


def test_the_grammar_lists_the_plates_it_has_no_shape_for() -> None:
    assert set(GRAMMAR.spec.non_standard) == {"military", "temporary", "registered_abroad"}
    assert all("/" in label for label in GRAMMAR.spec.non_standard.values())  # vi / en
