"""The §5 grammar: compact and printed forms, shapes, and position-aware correction."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from plates.grammar import Grammar, Slot, load_grammar
from plates.grammar_spec import DEFAULT_GRAMMAR_PATH, load_spec
from tests.plates.conftest import ROOT, LabelledBox

GRAMMAR = load_grammar()


def sure(text: str) -> list[Slot]:
    """Slots of a confidently read line."""
    return [((c, 0.99),) for c in text]


@pytest.mark.parametrize(
    ("printed", "lines", "compact", "shape", "again"),
    [
        ("73A-123.45", 1, "73A12345", "car", "73A-123.45"),
        ("73A 123.45", 2, "73A12345", "car", "73A 123.45"),
        ("73A-1234", 1, "73A1234", "car_old", "73A-1234"),
        ("73-AA 123.45", 2, "73AA12345", "motorbike", "73-AA 123.45"),
        ("73-B1 123.45", 2, "73B112345", "motorbike_old", "73-B1 123.45"),
        ("73-B1 1234", 2, "73B11234", "motorbike_old", "73-B1 1234"),
        ("29MĐ1-013.53", 1, "29MĐ101353", "electric", "29MĐ1-013.53"),
        ("29LD-123.45", 1, "29LD12345", "special", "29LD-123.45"),
        ("80-011-NG-01", 1, "80011NG01", "foreign", "80-011-NG-01"),
    ],
)
def test_printed_plates_match_their_shape_and_print_back(
    printed: str, lines: int, compact: str, shape: str, again: str
) -> None:
    parse = GRAMMAR.match(printed, lines=lines)
    assert parse is not None
    assert (parse.text, parse.shape) == (compact, shape)
    assert GRAMMAR.printed(parse, lines) == again


def test_every_shape_accepts_its_own_example() -> None:
    for shape in GRAMMAR.spec.shapes:
        assert GRAMMAR.match(shape.example, shapes=[shape.name]) is not None, shape.name


@pytest.mark.parametrize(
    "text",
    [
        "13A12345",  # 13 is an unused province code
        "73I12345",  # I never appears on civil plates
        "73O12345",  # nor O
        "73A1234567",  # seven digits
        "7AA12345",  # one-digit province
        "",
        "73A-12?.45",
    ],
)
def test_texts_that_fit_no_shape_are_refused(text: str) -> None:
    assert GRAMMAR.match(text) is None


def test_compact_form_strips_separators_and_keeps_the_stroked_d() -> None:
    assert GRAMMAR.compact(" 29-mđ1 013.53 ") == "29MĐ101353"
    assert GRAMMAR.compact("29MÐ1") == "29MĐ1"  # U+00D0 looks the same
    assert GRAMMAR.search_key("29MĐ1-013.53") == GRAMMAR.search_key("29md101353")


def test_d_is_accepted_for_the_stroked_d_and_stored_as_it() -> None:
    parse = GRAMMAR.match("29MD1-013.53", lines=1)
    assert parse is not None and parse.text == "29MĐ101353"


def test_two_line_ambiguity_is_settled_by_where_the_line_breaks() -> None:
    car = GRAMMAR.decode([sure("73A"), sure("12345")])
    bike = GRAMMAR.decode([sure("73A1"), sure("2345")])
    assert (car[0].text, car[0].shape) == ("73A12345", "car")
    assert (bike[0].text, bike[0].shape) == ("73A12345", "motorbike_old")


def test_a_letter_read_where_a_digit_belongs_is_corrected_and_costs_confidence() -> None:
    parses = GRAMMAR.decode([sure("73A1"), sure("2O4S6")])
    assert parses[0].text == "73A120456"
    assert parses[0].corrected and parses[0].probability < 0.5


def test_a_digit_read_where_the_series_letter_belongs_is_corrected() -> None:
    parses = GRAMMAR.decode([sure("738"), sure("12345")])
    assert parses[0].text == "73B12345"


def test_the_ocr_alternative_wins_over_a_confusion_guess() -> None:
    series: Slot = (("4", 0.5), ("K", 0.45))
    parses = GRAMMAR.decode([[*sure("73"), series], sure("12345")])
    assert parses[0].text == "73K12345"


def test_a_read_character_that_is_valid_is_never_corrected() -> None:
    parses = GRAMMAR.decode([sure("73B8"), sure("12345")])
    assert parses[0].text == "73B812345" and not parses[0].corrected


def test_garbage_gives_no_grammatical_reading() -> None:
    assert GRAMMAR.decode([sure("HELLO")]) == []


def test_blue_plates_narrow_the_series_letter() -> None:
    series: Slot = (("T", 0.9), ("A", 0.05))
    white = GRAMMAR.decode([[*sure("80"), series], sure("12345")], colour="white")
    blue = GRAMMAR.decode([[*sure("80"), series], sure("12345")], colour="blue")
    assert white[0].text == "80T12345"
    assert blue[0].text == "80A12345"  # state bodies' plates use A-M only


def test_a_stray_character_at_a_line_end_may_be_dropped_at_a_cost() -> None:
    stray: Slot = (("1", 0.4),)
    parses = GRAMMAR.decode([[*sure("73A12345"), stray]])
    assert parses[0].text == "73A12345"
    assert parses[0].deleted and parses[0].probability < 0.5


def test_the_vehicle_class_prefers_its_shapes() -> None:
    lines = [sure("73B1"), sure("2345")]
    assert (
        GRAMMAR.decode(lines, vehicle="motorbike")[0].probability
        > GRAMMAR.decode(lines, vehicle="car")[0].probability
    )


@st.composite
def plates(draw: st.DrawFn) -> tuple[str, int]:
    """A random valid plate (compact) and a layout its shape allows."""
    exp = draw(st.sampled_from(GRAMMAR.expansions))
    text = "".join(draw(st.sampled_from(unit.options)) for unit in exp.units)
    return text, draw(st.sampled_from(exp.shape.layouts))


@settings(max_examples=200, deadline=None)
@given(plates())
def test_any_valid_plate_survives_printing_and_reading_back(plate: tuple[str, int]) -> None:
    text, lines = plate
    parse = GRAMMAR.match(text, lines=lines)
    assert parse is not None
    again = GRAMMAR.match(GRAMMAR.printed(parse, lines), lines=lines)
    assert again is not None and again.text == text


def test_a_broken_grammar_file_is_refused_with_the_bad_key(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_GRAMMAR_PATH.read_text(encoding="utf-8"))
    data["shapes"][0]["segments"][1]["class"] = "no_such_class"
    bad = tmp_path / "grammar.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError, match="no_such_class"):
        load_spec(bad)


def test_the_grammar_is_versioned_data() -> None:
    assert re.fullmatch(r"\d{4}\.\d+", GRAMMAR.version)
    assert GRAMMAR.province_name("73") == "Quảng Trị"
    assert "13" not in GRAMMAR.province_codes
    assert isinstance(load_grammar(), Grammar)


def test_no_plate_of_the_shared_set_appears_in_code_or_configuration(
    vn_plates: list[LabelledBox],
) -> None:
    texts = {box.text for box in vn_plates}
    sources = [*(ROOT / "plates").rglob("*.py"), *(ROOT / "plates").rglob("*.yaml")]
    sources += [ROOT / "central_server" / "plates_worker.py", ROOT / "scripts/bench/plates.py"]
    for path in sources:
        content = GRAMMAR.compact(path.read_text(encoding="utf-8"))
        leaked = [t for t in texts if t in content]
        assert not leaked, f"{path} holds test plates {leaked}"
