"""PostgreSQL specifics: a whole database (the `public` schema, as production runs it) and a
clear error when the client tools are missing."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from central_server.backup.cli import backup
from central_server.backup.create import BackupOptions, create_backup
from central_server.backup.errors import BackupError
from central_server.backup.restore import RestoreOptions, restore_backup
from central_server.db import make_engine, upgrade
from central_server.settings import get_settings
from tests.central_server.backup.conftest import System, server_settings, start_system
from tests.fixtures.db import TEST_DATABASE_URL_ENV, Database

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get(TEST_DATABASE_URL_ENV), reason="needs PostgreSQL"),
]


@pytest.fixture
def admin() -> Iterator[Engine]:
    """An engine that creates and drops databases."""
    engine = make_engine(os.environ[TEST_DATABASE_URL_ENV], isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def new_database(admin: Engine) -> Iterator[Callable[[str], str]]:
    """A factory of fresh databases (no search_path: the `public` schema), dropped afterwards."""
    names: list[str] = []

    def create(prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        names.append(name)
        url = make_url(os.environ[TEST_DATABASE_URL_ENV]).set(database=name)
        return url.render_as_string(hide_password=False)

    yield create
    with admin.connect() as conn:
        for name in names:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


def test_a_whole_database_round_trips(new_database: Callable[[str], str], tmp_path: Path) -> None:
    source_url, target_url = new_database("test_backup_src"), new_database("test_restore")
    upgrade(source_url)
    engine = make_engine(source_url)
    try:
        system = start_system(Database(source_url, engine, "postgresql"), tmp_path / "source")
        assert system.ingest() is not None
        result = create_backup(system.settings, tmp_path / "b.tar", BackupOptions(), print)
    finally:
        engine.dispose()
    assert result.complete and result.manifest.database.schema_name is None
    assert result.manifest.database.tool.startswith("pg_dump (PostgreSQL)")
    settings = server_settings(target_url, tmp_path / "restored")
    report = restore_backup(settings, tmp_path / "b.tar", RestoreOptions(), print)
    assert report.ok, [c.line() for c in report.checks]


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_missing_client_tools_are_a_clear_error(
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    system: System = start_system(db, tmp_path / "source")
    with pytest.raises(BackupError, match="pg_dump not found in /nonexistent"):
        create_backup(
            system.settings, tmp_path / "out", BackupOptions(pg_bin=Path("/nonexistent")), print
        )
    monkeypatch.setenv("TW_DATABASE_URL", db.url)
    monkeypatch.setenv("TW_DATA_DIR", str(tmp_path / "source"))
    get_settings.cache_clear()
    try:
        assert backup(["--out", str(tmp_path / "out"), "--pg-bin", "/nonexistent"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "postgresql-client" in err and "nothing backed up" in err
    assert not list((tmp_path / "out").glob("backup-*"))
