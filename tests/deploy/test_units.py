"""The systemd units in deploy/: systemd accepts them, they are hardened, and they run commands
(and options) the `trafficwatch` command really has."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trafficwatch.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
SERVICES = sorted(UNITS.glob("trafficwatch-*.service"))
INSTALLED_VENV = "/opt/trafficwatch/.venv"
VENV = Path(sys.executable).parent.parent
MAX_EXPOSURE = 20  # systemd-analyze security's scale ×10: 2.0 is "OK", 10 "UNSAFE"


def exec_lines(unit: Path) -> list[list[str]]:
    """The argv of every ExecStart/ExecStartPre line."""
    lines = re.findall(r"^ExecStart(?:Pre)?=(.+)$", unit.read_text(), flags=re.MULTILINE)
    return [shlex.split(line) for line in lines]


def command_of(argv: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """(the command path after `trafficwatch`, the options that follow it)."""
    assert argv[0] == f"{INSTALLED_VENV}/bin/trafficwatch", argv
    words = argv[1:]
    first_option = next((i for i, w in enumerate(words) if w.startswith("-")), len(words))
    return tuple(words[:first_option]), [w for w in words[first_option:] if w.startswith("--")]


def test_there_are_the_three_server_units() -> None:
    names = [unit.name for unit in SERVICES]
    assert names == [
        "trafficwatch-api.service",
        "trafficwatch-ingest.service",
        "trafficwatch-scheduler.service",
    ]


@pytest.mark.parametrize("unit", SERVICES, ids=lambda p: p.stem)
def test_units_run_existing_commands_with_existing_options(unit: Path) -> None:
    known = {command.path for command in COMMANDS}
    for argv in exec_lines(unit):
        path, options = command_of(argv)
        assert path in known, f"{unit.name}: `trafficwatch {' '.join(path)}` is not a command"
        if not options:
            continue
        shown = subprocess.run(
            [str(VENV / "bin" / "trafficwatch"), *path, "--help"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        for option in options:
            assert option in shown, f"{unit.name}: {' '.join(path)} has no {option}"


def test_only_the_api_unit_migrates_and_the_others_start_after_it() -> None:
    for unit in SERVICES:
        text = unit.read_text()
        migrates = "ExecStartPre=/opt/trafficwatch/.venv/bin/trafficwatch server migrate" in text
        assert migrates == (unit.name == "trafficwatch-api.service")
        if unit.name != "trafficwatch-api.service":
            assert re.search(r"^After=.*trafficwatch-api\.service", text, flags=re.MULTILINE)


@pytest.mark.parametrize("unit", SERVICES, ids=lambda p: p.stem)
def test_units_are_hardened(unit: Path) -> None:
    text = unit.read_text()
    for line in (
        "User=trafficwatch",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "ReadWritePaths=/srv/trafficwatch/evidence",
        "StateDirectory=trafficwatch",
        "CapabilityBoundingSet=",
    ):
        assert re.search(f"^{re.escape(line)}$", text, flags=re.MULTILINE), f"{unit.name}: {line}"


@pytest.fixture
def local_units(tmp_path: Path) -> Path:
    """The units with the installed venv's path replaced by this one (verify checks ExecStart)."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not available here")
    for unit in UNITS.iterdir():
        text = unit.read_text().replace(INSTALLED_VENV, str(VENV))
        (tmp_path / unit.name).write_text(text)
    return tmp_path


def test_systemd_analyze_verify_accepts_the_units(local_units: Path) -> None:
    names = sorted(p.name for p in local_units.iterdir())
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names],
        cwd=local_units,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


def test_systemd_analyze_security_rates_the_units_ok(local_units: Path) -> None:
    for unit in SERVICES:
        done = subprocess.run(
            [
                "systemd-analyze",
                "security",
                "--offline=true",
                f"--threshold={MAX_EXPOSURE}",
                "--no-pager",
                unit.name,
            ],
            cwd=local_units,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if "Unknown option" in done.stderr or "unrecognized option" in done.stderr:
            pytest.skip(f"this systemd-analyze has no offline security check: {done.stderr}")
        assert done.returncode == 0, f"{unit.name}: {done.stdout[-600:]}{done.stderr}"
        assert "Overall exposure level" in done.stdout and "OK" in done.stdout.splitlines()[-1]
