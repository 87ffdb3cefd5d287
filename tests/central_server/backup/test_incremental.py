"""A backup directory is updated incrementally: only new evidence is copied, evidence retention
purged leaves the backup too, and `--rehash` repairs a copy that rotted on the backup disk."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from central_server.backup.cli import backup, restore
from central_server.models import ViolationStatus
from central_server.retention.service import purge_violation
from tests.central_server.backup.conftest import System, Target

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def _backup(out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    capsys.readouterr()
    assert backup(["--out", str(out), "--json", *extra]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def _objects(out: Path) -> set[str]:
    return {p.name for p in (out / "evidence").glob("??/??/*")}


def test_only_new_evidence_is_copied_and_purged_evidence_leaves(
    server_env: System, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    system, out = server_env, tmp_path / "backups"
    first = _backup(out, capsys)
    assert first["copied"] == first["evidence_objects"] and first["reused"] == 0
    before = _objects(out)
    new_case = system.ingest()  # the packet, its scene and plate crop are new; the clip is not
    assert new_case is not None
    system.drive(new_case, ViolationStatus.rejected)
    second = _backup(out, capsys)
    assert second["copied"] == 3 and second["reused"] == first["evidence_objects"]
    assert len(list(out.glob("backup-*"))) == 1  # the previous generation is gone
    with system.db.session() as session:
        purge_violation(session, system.store, new_case, "rejected", datetime.now(timezone.utc))
    third = _backup(out, capsys)
    assert third["copied"] == 0 and third["evidence_objects"] == first["evidence_objects"]
    assert _objects(out) == before


def test_rehash_repairs_a_copy_that_rotted_in_the_backup(
    server_env: System, target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "backups"
    _backup(out, capsys)
    rotten = sorted((out / "evidence").glob("??/??/*"))[0]
    data = bytearray(rotten.read_bytes())
    data[10] ^= 0x01
    rotten.write_bytes(bytes(data))
    _backup(out, capsys)  # trusts the size of what is already there
    assert restore(["--from", str(out), "--check"]) == 3
    repaired = _backup(out, capsys, "--rehash")
    assert repaired["copied"] == 1
    assert restore(["--from", str(out), *target.args()]) == 0
