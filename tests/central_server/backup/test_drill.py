"""The restore drill: back up a running installation with cases in every state, restore it into an
empty one, and check that every case, every media hash, the audit chain and an evidence bundle
made from the restored system verify (issue 13)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from central_server.audit import verify_chain
from central_server.audit_cli import main as audit_verify
from central_server.backup.cli import backup, restore
from central_server.backup.references import referenced_media
from central_server.db import make_engine, session_scope
from central_server.evidence_store import EvidenceStore, FilesystemEvidenceStore
from central_server.export.bundle import build_bundle
from central_server.export.verify import verify_bundle
from central_server.models import AuditEvent, Violation, utcnow
from central_server.server_keys import load_or_create_server_key
from protocol.keys import key_id
from tests.central_server.backup.conftest import STEPS, System, Target


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _assert_every_case(system: System, engine: Engine) -> None:
    """Every case, in the state it was in; every state of the workflow among them."""
    with session_scope(engine, read_only=True) as session:
        rows = session.exec(select(col(Violation.id), col(Violation.status))).all()
    assert {int(i): s.value for i, s in rows} == system.statuses()
    assert {s.value for s in STEPS} <= {s.value for _, s in rows}


def _assert_every_media_object(system: System, engine: Engine, store: EvidenceStore) -> None:
    """Every object the database references: present, and the same bytes."""
    with system.db.engine.connect() as conn:
        referenced = referenced_media(conn)
    with engine.connect() as conn:
        assert referenced_media(conn) == referenced
    assert referenced and all(store.get(sha) == system.store.get(sha) for sha in referenced)


def _assert_audit_chain(engine: Engine, database_url: str, kid: str) -> None:
    """The chain verifies, signed heads included (`audit verify`), and records the restore."""
    with session_scope(engine, read_only=True) as session:
        assert verify_chain(session).ok
        newest = select(col(AuditEvent.action)).order_by(col(AuditEvent.id).desc())
        assert session.exec(newest).first() == "backup.restored"
    assert audit_verify(["--database-url", database_url, "--server-key", kid]) == 0


def _assert_bundle_verifies(
    engine: Engine, store: EvidenceStore, key_path: Path, violation_id: int, kid: str
) -> None:
    """A bundle made by the restored system verifies against the same server key."""
    key = load_or_create_server_key(key_path)
    assert key_id(key) == kid
    with session_scope(engine, read_only=True) as session:
        bundle = build_bundle(
            session,
            store,
            violation_id=violation_id,
            server_key=key,
            exported_by="user:drill",
            now=utcnow(),
        )
    verdict = verify_bundle(bundle.data, trusted_server_key=kid)
    assert all(c.status == "ok" for c in verdict.checks), [c.line() for c in verdict.checks]


def test_restore_drill(
    server_env: System, target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    system, out = server_env, tmp_path / "backups"
    assert backup(["--out", str(out)]) == 0, capsys.readouterr()
    assert restore(["--from", str(out), *target.args()]) == 0, capsys.readouterr()
    assert "RESTORED AND VERIFIED" in capsys.readouterr().out
    restored = target.settings()
    store = FilesystemEvidenceStore(restored.evidence_dir)
    kid = key_id(system.server_key)
    engine = make_engine(restored.database_url)
    try:
        _assert_every_case(system, engine)
        _assert_every_media_object(system, engine, store)
        _assert_audit_chain(engine, restored.database_url, kid)
        penalized = system.cases["penalized"]
        _assert_bundle_verifies(engine, store, restored.server_key_path, penalized, kid)
    finally:
        engine.dispose()
    # Keys: owner-only, in the backup and in the restored installation.
    assert _mode(restored.server_key_path) == 0o600
    assert _mode(restored.server_key_path.parent) == 0o700
    backed_up_keys = list(out.glob("backup-*/keys/*"))
    assert backed_up_keys and all(_mode(p) == 0o600 for p in backed_up_keys)


def test_restore_into_a_non_empty_target_is_refused(
    server_env: System, target: Target, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "backup.tar"
    assert backup(["--out", str(out)]) == 0
    assert restore(["--from", str(out), *target.args()]) == 0
    restored = target.settings()
    engine = make_engine(restored.database_url)
    try:
        with session_scope(engine, read_only=True) as session:
            events_before = len(session.exec(select(AuditEvent)).all())
        capsys.readouterr()
        assert restore(["--from", str(out), *target.args()]) == 4
        err = capsys.readouterr().err
        assert "not empty" in err and "database already has" in err and "evidence" in err
        with session_scope(engine, read_only=True) as session:
            assert len(session.exec(select(AuditEvent)).all()) == events_before
        # --force restores over it; a key file it replaces is kept beside it.
        restored.server_key_path.write_bytes(b"another key\n")
        assert restore(["--from", str(out), *target.args(), "--force"]) == 0
        assert list(restored.server_key_path.parent.glob("*.before-restore-*"))
        with session_scope(engine, read_only=True) as session:
            assert len(session.exec(select(AuditEvent)).all()) == events_before
    finally:
        engine.dispose()
