"""The outbox's SQLite file: schema, pragmas, transactions, the disk-full test and the reserve.

Why SQLite rather than one file per packet (temp file, fsync, rename, directory fsync): dropping a
part and recording the drop, or moving a rejected packet into the dead-letter table, must happen
together or not at all, and SQLite gives atomic multi-row transactions for that; its crash
recovery is among the most tested code there is; and the whole state is one file that a technician
can copy off a box. The per-file scheme needs four syscalls done right for every packet, scatters
the drop records, and still cannot make "drop + record" atomic.

Why a rollback journal (journal_mode=TRUNCATE) and not WAL, with synchronous=FULL either way (a
put() that returned survives a power cut): this is a queue of large blobs on a disk that may fill.
In WAL mode every evidence byte is written twice (WAL, then checkpoint; SD cards wear out), and the
WAL's space is only reusable after a checkpoint that itself needs the database file to grow, so on
a full disk the WAL wedges (on the 2 MiB tmpfs of tests/edge_agent/test_outbox_disk.py, WAL mode
lost nearly every packet once ENOSPC was first hit). With a rollback journal a new packet's pages
go straight into free pages or the end of the file and are not journaled, the journal of each
transaction is given back at its commit, and a transaction that hits ENOSPC rolls back cleanly.
WAL's gain, readers not blocking the writer, is worth nothing here: one process with one
connection behind a lock.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from edge_agent.dead_letter import DEAD_LETTER_SCHEMA

logger = logging.getLogger(__name__)

SQLITE_FULL = 13
_FULL_MESSAGE = "database or disk is full"

# The packet bytes live in their own table: SQLite rewrites a whole row on UPDATE, and bumping a
# retry counter must not rewrite 8 MiB of evidence each time.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    packet_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    earlier_sha256 TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_seq ON outbox (seq);
CREATE TABLE IF NOT EXISTS outbox_blob (
    packet_id TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_part (
    packet_id TEXT NOT NULL,
    role TEXT NOT NULL,
    kind TEXT NOT NULL,
    rank INTEGER NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (packet_id, role)
);
CREATE INDEX IF NOT EXISTS outbox_part_kind ON outbox_part (kind);
CREATE TABLE IF NOT EXISTS drop_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    packet_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    role TEXT,
    bytes_freed INTEGER NOT NULL,
    reason TEXT NOT NULL,
    dropped_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS loss_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    packet_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    reason TEXT NOT NULL,
    lost_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


def connect(path: Path, busy_timeout: float = 10.0) -> sqlite3.Connection:
    """Open (creating if needed) the outbox database: rollback journal, synchronous=FULL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Autocommit mode: every transaction is an explicit BEGIN IMMEDIATE ... COMMIT below.
    conn = sqlite3.connect(
        str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    try:
        # Only takes effect before the first table exists; INCREMENTAL lets the disk get back
        # the pages of drained or dropped evidence without a VACUUM's double space.
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        mode = conn.execute("PRAGMA journal_mode=TRUNCATE").fetchone()[0]
        if str(mode).lower() != "truncate":
            raise sqlite3.OperationalError(f"outbox needs a rollback journal, got {mode!r}")
        conn.execute("PRAGMA synchronous=FULL")
        # Debian builds SQLite with secure_delete ON: every freed page is journaled and then
        # zeroed, so each acked packet would be written twice more (SD-card wear) and dropping
        # evidence on a full disk would first need as much journal space as it frees. FAST
        # still clears what costs no extra I/O; disk encryption is what protects a stolen box.
        conn.execute("PRAGMA secure_delete=FAST")
        conn.executescript(_SCHEMA + DEAD_LETTER_SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back if anything (the COMMIT included) fails."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                # SQLite may already have rolled back itself (it does on SQLITE_FULL).
                logger.debug("rollback after a failed transaction failed", exc_info=True)
        raise


def is_disk_full(exc: BaseException) -> bool:
    """True for SQLITE_FULL or ENOSPC (Python 3.10 has no sqlite_errorcode, hence the text)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    return code == SQLITE_FULL or _FULL_MESSAGE in str(exc)


def free_pages_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of free pages inside the database file, which a new packet reuses first."""
    pages = conn.execute("PRAGMA freelist_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int(pages) * int(size)


class Reserve:
    """A pre-allocated file freed when the disk is full, so a loss record can still be written."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size

    def present(self) -> bool:
        """Whether the reserve file exists at its full size."""
        try:
            return self.path.stat().st_size >= self.size
        except FileNotFoundError:
            return False

    def missing(self) -> int:
        """Bytes the reserve needs to be whole again."""
        try:
            return max(0, self.size - self.path.stat().st_size)
        except FileNotFoundError:
            return max(0, self.size)

    def ensure(self, min_free_bytes: int) -> bool:
        """(Re)create the reserve when there is room beyond min_free_bytes; True if present."""
        if self.size <= 0 or self.present():
            return True
        if shutil.disk_usage(self.path.parent).free < self.size + min_free_bytes:
            return False
        try:
            with self.path.open("wb") as handle:
                handle.write(b"\0" * self.size)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            logger.warning("cannot allocate the outbox reserve %s: %s", self.path, exc)
            self.path.unlink(missing_ok=True)
            return False
        return True

    def release(self) -> bool:
        """Delete the reserve to free its space; True if there was one."""
        if not self.path.exists():
            return False
        self.path.unlink(missing_ok=True)
        logger.warning("outbox disk full: released the %d-byte reserve", self.size)
        return True
