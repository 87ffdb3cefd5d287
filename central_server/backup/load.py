"""Putting a database dump back: `pg_restore` into an existing empty PostgreSQL database (in one
transaction), or the SQLite file written beside its target and renamed over it."""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from central_server.backup.dump import (
    database_kind,
    dumped_schema,
    find_tool,
    libpq_target,
    sqlite_path,
)
from central_server.backup.errors import BackupDamagedError, BackupError
from central_server.backup.manifest import Manifest
from central_server.backup.reader import Reader, chunks
from central_server.db import make_engine

logger = logging.getLogger(__name__)


def check_target_database(url: str, manifest: Manifest) -> list[str]:
    """What already lives in the target database (empty: nothing); BackupError if unusable."""
    kind = database_kind(url)
    if kind != manifest.database.kind:
        raise BackupError(
            f"the backup holds a {manifest.database.kind} database; the target is {kind}"
        )
    if kind == "sqlite":
        tables = _sqlite_tables(sqlite_path(url))
    else:
        schema = dumped_schema(url)
        if schema != manifest.database.schema_name:
            raise BackupError(
                f"the backup is of PostgreSQL schema {manifest.database.schema_name or 'public'}; "
                f"the target URL's search_path selects {schema or 'public'}"
            )
        tables = _tables(url, schema or "public")
    if not tables:
        return []
    return [f"the database already has {len(tables)} tables ({', '.join(tables[:3])} …)"]


def _sqlite_tables(path: Path) -> list[str]:
    if not path.exists():
        return []
    # Read-only: looking must not turn the target's journal mode or create a WAL file.
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            query = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            return [row[0] for row in conn.execute(query)]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return [f"{path} (unreadable: {exc})"]


def _tables(url: str, schema: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            query = (
                "SELECT table_name FROM information_schema.tables WHERE table_schema = :schema "
                "ORDER BY table_name"
            )
            return list(conn.execute(text(query), {"schema": schema}).scalars())
    except OperationalError as exc:
        raise BackupError(
            "Không kết nối được CSDL đích / cannot reach the target database (create it first, "
            f"e.g. `createdb trafficwatch`): {str(exc.orig).strip()}"
        ) from None
    finally:
        engine.dispose()


def load_database(
    reader: Reader, manifest: Manifest, url: str, *, force: bool, pg_bin: Path | None
) -> None:
    """Restore the dump into the database at `url`."""
    if manifest.database.kind == "sqlite":
        _load_sqlite(reader, manifest, sqlite_path(url), force=force)
    else:
        _load_postgres(reader, manifest, url, force=force, pg_bin=pg_bin)


def _load_sqlite(reader: Reader, manifest: Manifest, path: Path, *, force: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".restoring")
    digest = hashlib.sha256()
    entry = manifest.file("database")
    with reader.open(manifest.database.path) as src, tmp.open("wb") as dst:
        for chunk in chunks(src):
            digest.update(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    if entry is None or digest.hexdigest() != entry.sha256:
        tmp.unlink()
        raise BackupDamagedError(["the database file changed while it was being restored"])
    if force:
        # A journal of the database being replaced must not be replayed into the restored one.
        for suffix in ("-wal", "-shm", "-journal"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_postgres(
    reader: Reader, manifest: Manifest, url: str, *, force: bool, pg_bin: Path | None
) -> None:
    pg_restore = find_tool("pg_restore", pg_bin)
    uri, env = libpq_target(url)
    command = [
        pg_restore,
        "--no-owner",  # the restoring role owns everything: the old roles may not exist here
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",  # all or nothing
        "--no-password",
        f"--dbname={uri}",
    ]
    if force:
        command += ["--clean", "--if-exists"]
    with tempfile.TemporaryFile() as errors, reader.open(manifest.database.path) as src:
        # The dump is streamed: a tar backup needs no temporary copy of it.
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, env=env
        )
        assert process.stdin is not None
        try:
            for chunk in chunks(src):
                process.stdin.write(chunk)
        except BrokenPipeError:
            pass  # pg_restore stopped early: its exit code and message say why
        finally:
            process.stdin.close()
        code = process.wait()
        errors.seek(0)
        message = errors.read().decode("utf-8", "replace").strip()
    if code != 0:
        raise BackupError(f"pg_restore thất bại / failed ({code}): {message[-2000:]}")
    logger.info("pg_restore done%s", f": {message}" if message else "")
