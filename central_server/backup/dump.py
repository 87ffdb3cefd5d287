"""The database half of a backup: one consistent snapshot, and what it holds.

PostgreSQL: a read-only REPEATABLE READ transaction exports its snapshot, `pg_dump --snapshot`
dumps exactly that snapshot (custom format), and the row counts and evidence references are read
in the same transaction, so the manifest describes the dump and nothing later. SQLite: the online
backup API copies the live database in one step (a consistent read in WAL mode, writers carry
on); the counts and references are then read from the copy. Never a file copy of a live database.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, column, create_engine, func, select, table, text
from sqlalchemy.engine import URL

from central_server.backup import references
from central_server.backup.errors import BackupError
from central_server.backup.manifest import DatabaseKind
from central_server.db import make_engine, normalise_url

logger = logging.getLogger(__name__)

SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
PG_LOCK_WAIT = "2min"  # a migration holding a table lock fails the dump instead of hanging it
_SEARCH_PATH_RE = re.compile(r"search_path\s*=\s*([A-Za-z0-9_]+)")


@dataclass
class Snapshot:
    """The dump file and the facts read from the same snapshot."""

    path: Path
    kind: DatabaseKind
    tool: str
    server_version: str
    schema_name: str | None
    revision: str | None = None
    tables: dict[str, int] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    public_keys: list[dict[str, Any]] = field(default_factory=list)
    totp_users: int = 0


def database_kind(url: str | URL) -> DatabaseKind:
    """`sqlite` or `postgresql` (BackupError for anything else)."""
    backend = normalise_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"unsupported database {backend!r}: sqlite or postgresql only")
    return "sqlite" if backend == "sqlite" else "postgresql"


def sqlite_path(url: str | URL) -> Path:
    """The database file of a `sqlite:///` URL."""
    name = normalise_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupError(f"not a SQLite database file: {url}")
    return Path(name)


def dumped_schema(url: str | URL) -> str | None:
    """The PostgreSQL schema a URL's search_path selects, if not `public` (dumped alone)."""
    options = str(normalise_url(url).query.get("options", ""))
    match = _SEARCH_PATH_RE.search(options)
    return match.group(1) if match and match.group(1) != "public" else None


def find_tool(name: str, pg_bin: Path | None) -> str:
    """The path of a PostgreSQL client program (BackupError with what to install)."""
    found = shutil.which(name, path=str(pg_bin)) if pg_bin else shutil.which(name)
    if found is None:
        where = f" in {pg_bin}" if pg_bin else " on PATH"
        raise BackupError(
            f"Không tìm thấy {name} / {name} not found{where}: install the PostgreSQL client "
            "tools of the server's major version (Debian: postgresql-client-15) or give --pg-bin"
        )
    return found


def libpq_target(url: str | URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment that carries it (not argv)."""
    parsed = normalise_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def dump_database(url: str, dest_dir: Path, pg_bin: Path | None = None) -> Snapshot:
    """Dump the database at `url` into `dest_dir` and read its facts from the same snapshot."""
    if database_kind(url) == "sqlite":
        return _dump_sqlite(sqlite_path(url), dest_dir / SQLITE_FILE)
    return _dump_postgres(url, dest_dir / PG_FILE, pg_bin)


def _read_facts(conn: Connection, snapshot: Snapshot) -> Snapshot:
    snapshot.revision = references.schema_revision(conn)
    snapshot.tables = references.row_counts(conn)
    snapshot.references = references.referenced_media(conn)
    snapshot.public_keys = references.server_public_keys(conn)
    if "user" in snapshot.tables:
        users = table("user", column("totp_secret_enc"))
        totp = select(func.count()).select_from(users).where(users.c.totp_secret_enc.is_not(None))
        snapshot.totp_users = int(conn.execute(totp).scalar_one())
    return snapshot


def _dump_sqlite(source: Path, target: Path) -> Snapshot:
    if not source.is_file():
        raise BackupError(f"Không có cơ sở dữ liệu / no database at {source}")
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # pages=-1: one step, one read transaction, a consistent copy
            # A single self-contained file: the restored server turns WAL back on.
            dst.execute("PRAGMA journal_mode=DELETE")
            verdict = dst.execute("PRAGMA quick_check").fetchone()
        finally:
            dst.close()
    finally:
        src.close()
    if verdict is None or verdict[0] != "ok":
        raise BackupError(f"the SQLite copy fails its integrity check: {verdict}")
    snapshot = Snapshot(target, "sqlite", f"sqlite {sqlite3.sqlite_version}", "", None)
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            snapshot.server_version = str(conn.execute(text("SELECT sqlite_version()")).scalar())
            return _read_facts(conn, snapshot)
    finally:
        engine.dispose()


def _dump_postgres(url: str, target: Path, pg_bin: Path | None) -> Snapshot:
    pg_dump = find_tool("pg_dump", pg_bin)
    version = _run([pg_dump, "--version"]).strip()
    schema = dumped_schema(url)
    engine = make_engine(url)
    try:
        with engine.connect() as base:
            conn = base.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            with conn.begin():
                snapshot_id = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
                server = str(conn.execute(text("SHOW server_version")).scalar_one())
                _pg_dump(pg_dump, url, snapshot_id, schema, target)
                snapshot = Snapshot(target, "postgresql", version, server, schema)
                return _read_facts(conn, snapshot)
    finally:
        engine.dispose()


def _pg_dump(pg_dump: str, url: str, snapshot_id: str, schema: str | None, target: Path) -> None:
    uri, env = libpq_target(url)
    command = [
        pg_dump,
        "--format=custom",
        f"--snapshot={snapshot_id}",
        f"--lock-wait-timeout={PG_LOCK_WAIT}",
        "--no-password",
        f"--file={target}",
    ]
    if schema is not None:
        command.append(f"--schema={schema}")
    logger.info("pg_dump of snapshot %s%s", snapshot_id, f" (schema {schema})" if schema else "")
    _run([*command, f"--dbname={uri}"], env=env)


def _run(command: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        tail = done.stderr.strip()[-2000:]
        raise BackupError(f"{Path(command[0]).name} thất bại / failed ({done.returncode}): {tail}")
    return done.stdout
