"""The protocol benchmark runs and prints its JSON line (figures are reported, not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_protocol_benchmark_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench" / "protocol.py"), "--seconds", "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(figures) == {"packets_per_s", "overhead_ratio"}
    assert figures["packets_per_s"] > 0 and figures["overhead_ratio"] > 0
