"""The ingest benchmark (`scripts/bench/ingest.py`) refuses SQLite for its target and prints its
figures (reported, never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.brokers import BrokerEndpoint

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench" / "ingest.py"


@pytest.mark.parametrize("flag", ["--require-postgres", "--check"])
def test_the_benchmark_refuses_to_measure_the_target_on_sqlite(flag: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), flag], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "TEST_DATABASE_URL" in done.stderr and "PostgreSQL" in done.stderr


@pytest.mark.bench
def test_the_benchmark_prints_its_figures(broker: BrokerEndpoint, tmp_path: Path) -> None:
    if broker.kind == "amqtt":
        pytest.skip("the benchmark's shared subscriptions need Mosquitto")
    command = [sys.executable, str(SCRIPT), "--boxes", "4", "--drivers", "1"]
    command += ["--ingest-workers", "1", "--seconds", "6", "--warmup", "1"]
    command += ["--mqtt-host", broker.host, "--mqtt-port", str(broker.port)]
    command += ["--data-dir", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(figures) == {
        "packets_per_s",
        "mb_per_s",
        "p50_ms",
        "p99_ms",
        "ratio_vs_broker",
        "db",
    }
    assert figures["packets_per_s"] > 0 and figures["db"] in ("sqlite", "postgresql")
