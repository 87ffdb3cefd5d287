"""Database engines, transactions and migrations (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlmodel import Session

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30
# Execution option: a read-only SQLite transaction may begin DEFERRED so that readers do not
# queue behind writers (WAL lets them read a snapshot).
SQLITE_DEFERRED = "tw_sqlite_deferred"
POSTGRES_TIMEOUTS: dict[str, Any] = {
    "connect_timeout": 10,  # seconds to establish a connection
    # Probe an idle connection after 30 s, every 10 s, give up after 3 unanswered probes.
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    # Milliseconds sent data may stay unacknowledged (a link that died mid-query) before the
    # connection is dropped; waiting for a slow query's answer is not affected.
    "tcp_user_timeout": 30_000,
}


def normalise_url(url: str | URL) -> URL:
    """Parse a database URL, serving `postgresql://` through psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine configured for durability and serialised audit appends."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(parsed, **kwargs)
    # A URL query such as `?options=-csearch_path%3Dt_x` reaches psycopg unchanged, which is how
    # the tests give every process the same schema.
    kwargs.setdefault("pool_pre_ping", True)  # the ingest turns it off: it retries instead
    connect_args = {**_postgres_timeouts(parsed), **kwargs.pop("connect_args", {})}
    return create_engine(parsed, connect_args=connect_args, **kwargs)


def _postgres_timeouts(url: URL) -> dict[str, Any]:
    """The libpq timeouts the URL does not set itself (the dialect passes the URL's on)."""
    # Without them a hung server or a black-holed link blocks a worker until the kernel's
    # 15-minute TCP retransmission timeout.
    return {name: value for name, value in POSTGRES_TIMEOUTS.items() if name not in url.query}


def _make_sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, **kwargs.pop("connect_args", {})}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 driver (SQLAlchemy's documented recipe) so the
        # "begin" hook below decides how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            # FULL: a commit survives power loss, which the ack to the device promises.
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock at BEGIN: two transactions that read then write (the
        # audit head, a packet's sequence) wait for each other instead of failing with
        # SQLITE_BUSY when the second one upgrades its read lock.
        if conn.get_execution_options().get(SQLITE_DEFERRED):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextmanager
def session_scope(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on error."""
    bind = engine.execution_options(**{SQLITE_DEFERRED: True}) if read_only else engine
    session = Session(bind, expire_on_commit=False)
    try:
        yield session
        if read_only:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _alembic_config(connection: Connection) -> Config:
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # env.py uses this connection rather than opening its own: no URL round-trip through the
    # ini file's %-interpolation, and the caller's engine settings (search_path) apply.
    config.attributes["connection"] = connection
    return config


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (Alembic `upgrade head` by default)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), revision)
    finally:
        engine.dispose()


def downgrade(url: str | URL, revision: str) -> None:
    """Migrate the database at `url` down to `revision` (`base` removes every table)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(_alembic_config(connection), revision)
    finally:
        engine.dispose()


def migration_heads() -> tuple[str, ...]:
    """Return the head revisions of the migration scripts (there should be exactly one)."""
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return tuple(ScriptDirectory.from_config(config).get_heads())


def check_schema_current(engine: Engine) -> bool:
    """Return whether the database is at the migrations' head (the server refuses otherwise)."""
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    heads = set(migration_heads())
    if current != heads:
        logger.warning("database schema at %s, migrations at %s", sorted(current), sorted(heads))
        return False
    return True
