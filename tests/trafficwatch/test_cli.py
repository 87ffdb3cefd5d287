"""The `trafficwatch` command: every name the project promises exists and runs its module."""

from __future__ import annotations

import subprocess
import sys

import pytest

from trafficwatch.cli import main
from trafficwatch.commands import COMMANDS

PROMISED = [
    "demo",
    *(
        f"server {n}"
        for n in (
            "api ingest scheduler all create-admin".split()
            + ["audit verify", "token create", "device revoke", "broker-acl", "apikey create"]
            + ["report run", "retention", "backup", "restore"]
        )
    ),
    "agent run",
    "agent dead-letter",
    *(f"provision {n}" for n in "enroll config calibrate check install-service rotate-key".split()),
    "models install",
    "models verify",
    "evidence verify",
]


def test_every_promised_command_exists() -> None:
    paths = {" ".join(c.path) for c in COMMANDS}
    assert set(PROMISED) <= paths


def test_every_real_target_imports() -> None:
    import importlib

    for cmd in COMMANDS:
        module, _, func = cmd.target.partition(":")
        assert callable(getattr(importlib.import_module(module), func)), cmd.target


def test_unknown_command_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["server", "frobnicate"]) == 2
    assert "unknown command: 'frobnicate'" in capsys.readouterr().err


def test_help_lists_the_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "server audit verify" in out and "provision rotate-key" in out


def test_console_script_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "trafficwatch.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("trafficwatch ")
