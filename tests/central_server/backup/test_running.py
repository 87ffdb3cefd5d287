"""A backup of a running system: ingest keeps storing packets while the backup runs, and the
backup still restores to a consistent installation (every referenced object present)."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from central_server.backup.create import BackupOptions, create_backup
from central_server.backup.restore import RestoreOptions, restore_backup
from central_server.ingest import Ingestor
from tests.central_server.backup.conftest import LIMITS, System, Target


def test_backup_while_ingest_keeps_storing(system: System, target: Target, tmp_path: Path) -> None:
    stop, stored_one = threading.Event(), threading.Event()
    stored: list[int] = []
    # A second ingest worker of its own, numbering its packets apart from the fixture's.
    ingestor = Ingestor(system.db.engine, system.store, system.server_key, LIMITS)
    worker_system = dataclasses.replace(system, ingestor=ingestor, _seq=iter(range(1000, 2000)))

    def ingest_until_stopped() -> None:
        while not stop.is_set():
            violation_id = worker_system.ingest()
            assert violation_id is not None
            stored.append(violation_id)
            stored_one.set()

    def progress(line: str) -> None:
        # Between the snapshot and the copy of the store: make sure a packet lands right there
        # (its objects are copied, the dump does not reference them).
        if line.startswith("[2/4]"):
            stored_one.clear()
            assert stored_one.wait(timeout=60)

    worker = threading.Thread(target=ingest_until_stopped, name="test-ingest")
    worker.start()
    try:
        assert stored_one.wait(timeout=60)
        result = create_backup(system.settings, tmp_path / "backups", BackupOptions(), progress)
    finally:
        stop.set()
        worker.join(timeout=60)
    assert result.complete, result.manifest.warnings
    evidence = result.manifest.evidence
    assert evidence.objects > evidence.referenced  # stored after the snapshot: harmless
    assert len(system.cases) < result.manifest.tables["violation"] < len(system.cases) + len(stored)
    report = restore_backup(
        target.settings(), tmp_path / "backups", RestoreOptions(), lambda line: None
    )
    assert report.ok, [c.line() for c in report.checks]
