from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel, select

import central_server.models  # noqa: F401  (every table on the metadata)
from central_server.db import (
    check_schema_current,
    downgrade,
    make_engine,
    migration_heads,
    session_scope,
    upgrade,
)
from central_server.models import Unit
from tests.factories_db import make_unit
from tests.fixtures.db import Database


def test_sqlite_engine_is_durable_and_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'tw.db'}")
    with engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 30000,
        "synchronous": 2,
    }


def test_postgresql_urls_use_psycopg_3() -> None:
    engine = make_engine("postgresql://tw@127.0.0.1:5432/tw?options=-csearch_path%3Dt_x")
    assert engine.dialect.driver == "psycopg"
    assert engine.url.query["options"] == "-csearch_path=t_x"


def test_sqlite_transactions_take_the_write_lock_at_begin(tmp_path: Path) -> None:
    """A read-then-write transaction holds the lock from its first read, so a second one queues
    behind it instead of failing with 'database is locked' when it starts writing."""
    path = tmp_path / "tw.db"
    upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with session_scope(engine) as session:
            session.exec(select(Unit)).all()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        with session_scope(engine, read_only=True) as session:
            session.exec(select(Unit)).all()
            other.execute("BEGIN IMMEDIATE")  # readers leave the write lock free
            other.execute("ROLLBACK")
    finally:
        other.close()
        engine.dispose()


def test_session_scope_commits_on_success(db: Database) -> None:
    with db.session() as session:
        unit_id = make_unit(session, name="Đội CSGT Bến Thành").id
    with db.session() as session:
        unit = session.get(Unit, unit_id)
        assert unit is not None and unit.name == "Đội CSGT Bến Thành"


def test_session_scope_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as session:
        make_unit(session, name="never stored")
        raise RuntimeError("boom")
    with db.session() as session:
        assert session.exec(select(Unit)).all() == []


def test_the_url_reaches_the_same_database_from_another_engine(db: Database) -> None:
    """What a subprocess (ingest worker, API server) given `db.url` would see."""
    with db.session() as session:
        make_unit(session, name="Phòng CSGT")
    other = make_engine(db.url)
    try:
        with session_scope(other, read_only=True) as session:
            assert [u.name for u in session.exec(select(Unit))] == ["Phòng CSGT"]
    finally:
        other.dispose()


def test_migrations_have_one_head() -> None:
    assert len(migration_heads()) == 1


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_schema_is_current_after_upgrade(db: Database) -> None:
    assert check_schema_current(db.engine)


def test_an_unmigrated_database_is_not_current(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert not check_schema_current(engine)
    finally:
        engine.dispose()


def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(db: Database) -> None:
    downgrade(db.url, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    assert not check_schema_current(db.engine)
    upgrade(db.url)
    assert check_schema_current(db.engine)
    with db.engine.connect() as conn:
        head = conn.execute(text("SELECT last_event_id, last_hash FROM audit_head")).one()
    assert tuple(head) == (0, "0" * 64)
