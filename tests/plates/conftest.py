"""Fixtures for the plate reader tests: one shared reader, the shared data set, the font."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from plates import PlateReader
from tests.plates.synth import find_font

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LabelledBox:
    """One labelled plate of `vn_plates/plates.csv` (read at run time, never copied here)."""

    image: Path
    box: tuple[float, float, float, float]
    text: str
    lines: int
    vehicle: str
    quality: str


def shared_data_dir() -> Path:
    """`$TW_SHARED_DATA`, or `<repo>/../shared/data`."""
    return Path(os.environ.get("TW_SHARED_DATA") or ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def reader() -> Iterator[PlateReader]:
    """The plate reader with its default settings (models load once per session)."""
    yield PlateReader()


@pytest.fixture(scope="session")
def vn_plates() -> list[LabelledBox]:
    """The labelled boxes of the shared `vn_plates` set; skips when the set is absent."""
    folder = shared_data_dir() / "vn_plates"
    if not (folder / "plates.csv").is_file():
        pytest.skip(f"shared data set missing: {folder} (set TW_SHARED_DATA)")
    with (folder / "plates.csv").open(encoding="utf-8") as handle:
        return [
            LabelledBox(
                folder / "images" / row["image"],
                (float(row["x1"]), float(row["y1"]), float(row["x2"]), float(row["y2"])),
                row["plate_normalized"],
                2 if row["layout"] == "two-line" else 1,
                row["vehicle"],
                row["quality"],
            )
            for row in csv.DictReader(handle)
        ]


@pytest.fixture(scope="session")
def font() -> Path:
    """The synthetic plates' font; skips when the machine has none."""
    path = find_font()
    if path is None:
        pytest.skip("no DejaVu Sans Condensed Bold font: apt-get install fonts-dejavu-core")
    return path
