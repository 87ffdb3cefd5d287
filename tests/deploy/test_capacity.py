"""scripts/capacity reads the benchmarks' JSON lines and says which figures are measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "capacity"


def _capacity(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def _saved(tmp_path: Path, name: str, figures: dict[str, Any]) -> str:
    path = tmp_path / f"{name}.out"
    path.write_text(f"readable lines first\n{{not json\n{json.dumps(figures)}\n")
    return str(path)


def test_measured_figures_come_from_the_benchmark_outputs(tmp_path: Path) -> None:
    ingest = _saved(tmp_path, "ingest", {"packets_per_s": 40.0, "db": "postgresql"})
    evidence = _saved(tmp_path, "evidence", {"packet_kb": 700, "clip_kbit_s": 880})
    plates = _saved(tmp_path, "plates", {"ms_per_plate": 80.0})
    done = _capacity(
        "--ingest", ingest, "--evidence", evidence, "--plates", plates,
        "--cores", "2", "--violations-per-day", "100", "--json",
    )  # fmt: skip
    result = json.loads(done.stdout)
    figures = {f["name"]: f for f in result["figures"]}
    assert figures["packet (evidence per violation)"]["value"] == 700
    assert figures["packet (evidence per violation)"]["basis"] == "measured"
    assert figures["server disk per violation"]["basis"] == "derived"
    assert figures["ingest CPU per packet"]["value"] == 2 / 40
    assert figures["plate reading per violation"]["value"] == 0.08
    assert figures["server disk per violation"]["value"] == 2 * 700 + 16
    (row,) = result["scenarios"]
    # 100 cameras × 100 violations a day × 1416 KiB, for 365 days.
    assert row["storage_tb_per_year"] == round(100 * 100 * 365 * 1416 * 1024 / 1e12, 2)
    assert row["cpu_cores_average"] == round(100 * 100 * (0.05 + 0.08) / 86400, 3)


def test_without_outputs_every_figure_is_marked_assumed() -> None:
    table = _capacity().stdout
    assert "| measured |" not in table
    assert "| packet (evidence per violation) | 1024 | KiB | assumed |" in table
    assert "| 200 (assumed) | 20000 |" in table
