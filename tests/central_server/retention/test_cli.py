"""`trafficwatch server retention` and `server report run` against a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from central_server.reports import cli as report_cli
from central_server.retention import cli
from tests.factories_db import make_violation
from tests.fixtures.db import Database


@pytest.fixture
def env(db: Database, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The commands read this test's database and an evidence store in its directory."""
    monkeypatch.setenv("TW_DATABASE_URL", db.url)
    monkeypatch.setenv("TW_DATA_DIR", str(clean_env))
    return db


def test_dry_run_then_hold_and_release(env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    with env.session() as session:
        violation_id = make_violation(session).id
    assert cli.main(["--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["dry_run"] is True
    assert cli.main(["--hold", str(violation_id)]) == 2  # a hold needs its reason
    assert cli.main(["--hold", str(violation_id), "--reason", "Khiếu nại"]) == 0
    assert cli.main(["--hold", str(violation_id), "--reason", "lại"]) == 1  # already held
    assert cli.main(["--release", str(violation_id)]) == 0
    assert cli.main(["--release", str(violation_id)]) == 1  # no hold left
    assert cli.main([]) == 0


def test_report_run_makes_a_revision_each_time(
    env: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report_cli.main(["--period", "2025-01"]) == 0
    assert json.loads(capsys.readouterr().out)["revision"] == 1
    assert report_cli.main(["--period", "2025-01"]) == 0
    assert json.loads(capsys.readouterr().out)["revision"] == 2
    assert report_cli.main(["--period", "2025-13"]) == 2
    assert report_cli.main(["--period", "2999-01"]) == 2
