"""`provision install-service`: the unit it writes, checked by systemd's own verifier."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.provisioning.conftest import Provision

TRAFFICWATCH = Path(sys.executable).with_name("trafficwatch")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "etc" / "config.yaml"
    path.parent.mkdir()
    data = {
        "device": {
            "id": "dh-cam-001",
            "site_id": "dong-hoi-01",
            "camera_id": "north",
            "location": {"lat": 17.4683, "lon": 106.6229},
        },
        "camera": {"source": "rtsp://10.0.0.5/stream1"},
        "rules": {"enabled": []},
        "outbox": {
            "path": str(tmp_path / "state" / "outbox.sqlite3"),
            "dead_letter_path": str(tmp_path / "state" / "dead_letters"),
        },
    }
    path.write_text(yaml.safe_dump(data))
    return path


def _unit(provision: Provision, config_file: Path, *extra: str | Path) -> str:
    result = provision(
        "install-service",
        "--config",
        config_file,
        "--executable",
        TRAFFICWATCH,
        "--dry-run",
        *extra,
    )
    assert result.code == 0, result.err
    return result.out


def test_the_unit_restarts_on_failure_and_is_hardened(
    provision: Provision, config_file: Path, tmp_path: Path
) -> None:
    unit = _unit(provision, config_file)
    lines = set(unit.splitlines())
    assert f"ExecStart={TRAFFICWATCH} agent run --config {config_file} --models-dir " in unit
    assert "Restart=on-failure" in lines and "RestartPreventExitStatus=2" in lines
    assert "WatchdogSec" not in unit  # the agent has no sd_notify: its own watchdog exits 1
    assert {"User=trafficwatch", "ProtectSystem=strict", "NoNewPrivileges=yes"} <= lines
    rw = next(line for line in lines if line.startswith("ReadWritePaths="))
    assert str(tmp_path / "state") in rw and str(tmp_path / "state" / "dead_letters") in rw


def test_the_json_form_names_where_the_unit_goes(
    provision: Provision, config_file: Path, tmp_path: Path
) -> None:
    result = provision(
        "install-service",
        "--config",
        config_file,
        "--dry-run",
        "--json",
        "--unit-dir",
        tmp_path,
        "--name",
        "tw-north",
    )
    assert result.code == 0
    assert result.json["unit_path"] == str(tmp_path / "tw-north.service")
    assert "[Service]" in result.json["unit"]


def test_systemd_accepts_the_unit(provision: Provision, config_file: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    # An existing user, so that the verifier checks the unit rather than this machine's users.
    unit_file = tmp_path / "trafficwatch-agent.service"
    unit_file.write_text(_unit(provision, config_file, "--user", "root"))
    proc = subprocess.run(
        [analyze, "verify", "--man=no", str(unit_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    problems = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if "trafficwatch-agent.service" in line and "Failed to" not in line.split(":", 1)[0]
    ]
    assert proc.returncode == 0, proc.stderr
    assert problems == [], problems


def test_an_invalid_config_is_not_installed(provision: Provision, tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("camera: {}\n")
    result = provision("install-service", "--config", bad, "--dry-run")
    assert result.code == 2 and "camera.source" in result.err
    missing = provision("install-service", "--config", tmp_path / "none.yaml", "--dry-run")
    assert missing.code == 78
