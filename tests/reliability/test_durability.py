"""Power loss is argued, not tested: `kill -9` (test_box_faults, test_ingest_faults) proves crash
safety; for a power cut what can be checked is that every promise of durability is backed by an
fsync: the outbox commits with synchronous=FULL, the server database too, and the evidence store
and the server key fsync each file and the directory that names it before anything is acked."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from central_server.evidence_store import FilesystemEvidenceStore
from central_server.server_keys import load_or_create_server_key
from edge_agent.outbox import Outbox
from tests.fixtures.db import Database

FULL = 2  # PRAGMA synchronous: every commit waits for fsync of the journal and the database


def test_the_outbox_commits_with_synchronous_full_and_a_rollback_journal(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db", min_free_bytes=None)
    try:
        assert outbox.durability() == {"journal_mode": "truncate", "synchronous": FULL}
    finally:
        outbox.close()


def test_the_server_database_commits_durably(rig_db: Database) -> None:
    with rig_db.engine.connect() as conn:
        if rig_db.kind == "sqlite":
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == FULL
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        else:  # the server's settings: with either off, an ack could outlive its row
            assert conn.execute(text("SHOW fsync")).scalar() == "on"
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"


class FsyncLog:
    """Records what `os.fsync` was called on, then calls the real one."""

    def __init__(self, real: Callable[[int], None]) -> None:
        self.files: list[int] = []
        self.directories: list[int] = []
        self._real = real

    def __call__(self, fd: int) -> None:
        info = os.fstat(fd)
        (self.directories if stat.S_ISDIR(info.st_mode) else self.files).append(info.st_ino)
        self._real(fd)


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> FsyncLog:
    """Every os.fsync the test causes, by inode, files and directories apart."""
    log = FsyncLog(os.fsync)
    monkeypatch.setattr(os, "fsync", log)
    return log


def test_the_evidence_store_fsyncs_each_object_and_its_directories(
    tmp_path: Path, fsyncs: FsyncLog
) -> None:
    store = FilesystemEvidenceStore(tmp_path / "evidence")
    sha256 = store.put(b"\xff\xd8 a still \xff\xd9")
    path = store.path_for(sha256)

    assert path.stat().st_ino in fsyncs.files  # the bytes, before the rename
    # The rename's directory, and each new directory's parent (its entry is only durable then).
    for directory in (path.parent, path.parent.parent, store.root):
        assert directory.stat().st_ino in fsyncs.directories, directory


def test_the_server_key_is_fsynced_with_its_directory(tmp_path: Path, fsyncs: FsyncLog) -> None:
    path = tmp_path / "keys" / "server.pem"
    load_or_create_server_key(path)

    assert path.stat().st_ino in fsyncs.files
    assert path.parent.stat().st_ino in fsyncs.directories
