"""Fixtures for the signal tests: the shared traffic-light crops."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def light_crops() -> Path:
    """`traffic_lights/training` of the shared data (skipped where absent)."""
    data = Path(os.environ.get("TW_SHARED_DATA") or ROOT.parent / "shared" / "data")
    folder = data / "traffic_lights" / "training"
    if not folder.is_dir():
        pytest.skip(f"shared traffic-light crops not found at {folder} (set TW_SHARED_DATA)")
    return folder
