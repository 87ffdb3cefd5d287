"""A backup made by an older version (an older schema) is restored, then migrated to head."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from central_server import db as database
from central_server.backup.create import BackupOptions, create_backup
from central_server.backup.restore import RestoreOptions, restore_backup
from tests.central_server.backup.conftest import Target, start_system
from tests.fixtures.db import Database


def _previous_revision() -> str:
    config = Config(str(database.MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(database.MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(config)
    current = script.get_current_head()
    assert current is not None
    head = script.get_revision(current)
    assert head is not None and isinstance(head.down_revision, str)
    return head.down_revision


def test_an_older_backup_is_migrated_after_restore(
    db: Database, target: Target, tmp_path: Path
) -> None:
    system = start_system(db, tmp_path / "source")
    assert system.ingest() is not None
    older = _previous_revision()
    database.downgrade(db.url, older)
    result = create_backup(system.settings, tmp_path / "backups", BackupOptions(), print)
    assert result.manifest.schema_revision == older
    report = restore_backup(target.settings(), tmp_path / "backups", RestoreOptions(), print)
    assert report.ok, [c.line() for c in report.checks]
    assert any(c.label_en == "schema upgraded" for c in report.checks)
    engine = database.make_engine(target.database_url)
    try:
        assert database.check_schema_current(engine)
    finally:
        engine.dispose()
