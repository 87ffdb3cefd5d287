"""Making room in the outbox: the bounds, the drop order, disk-full recovery and the loss log.

Evidence is never evicted silently. When a new packet would cross `max_bytes` or leave less than
`min_free_bytes` on the disk, parts go first, oldest packet first: every clip before any still, and
every still before a whole packet (the metadata, the last resort). A part is dropped with
`protocol.envelope.drop_parts`, so the signature stays valid and the part travels marked dropped.
Each drop is a `drop_log` row written in the same transaction as the change; a whole packet lost
also gets a `loss_log` row. The incoming packet takes its place in that order as the newest one.

Disk accounting (rollback journal): a write needs database pages, taken from the file's free pages
before the file grows, and room for its journal, which only the filesystem can give and which
comes back at the commit. Dropping evidence frees pages, not disk; pages beyond what the next
packet will reuse go back to the disk by incremental vacuum, in small steps because moved pages
are journaled too. When even that cannot be written, the reserve file is released once.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from edge_agent.outbox_db import Reserve, free_pages_bytes, is_disk_full, transaction
from edge_agent.outbox_pending import (
    KIND_CLIP,
    KIND_PACKET,
    KIND_STILL,
    OutboxFullError,
    PendingPacket,
    insert_pending,
)
from protocol.enums import MediaRole
from protocol.envelope import drop_parts, packet_sha256

logger = logging.getLogger(__name__)

PAGE_MARGIN = 32 * 1024  # b-tree, index and pointer-map pages a packet adds to its bytes
JOURNAL_ROOM = 128 * 1024  # filesystem room one transaction's rollback journal may need
_VACUUM_MIN_PAGES = 8
_VACUUM_MAX_PAGES = 2048
COMPACT_SLACK = 64 * 1024 * 1024  # free pages kept for the next packets after a drain


class SpaceKeeper:
    """Applies the outbox's bounds: makes room before a put and recovers from a full disk."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        db_path: Path,
        max_bytes: int,
        min_free_bytes: int | None,
        reserve: Reserve,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._conn = conn
        self._directory = db_path.parent
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes
        self._reserve = reserve
        self._clock = clock

    @staticmethod
    def _pages_for(need: int) -> int:
        return need + need // 256 + PAGE_MARGIN

    def disk_room(self, need: int) -> int:
        """Free filesystem bytes left once `need` more bytes are stored (an estimate)."""
        grow = max(0, self._pages_for(need) - free_pages_bytes(self._conn))
        return shutil.disk_usage(self._directory).free - grow - JOURNAL_ROOM

    def shortfall(self, need: int, min_free: int | None, reserve: int = 0) -> str | None:
        """Which bound storing `need` more bytes (and `reserve` more on disk) would cross."""
        queued = self._conn.execute("SELECT COALESCE(SUM(size), 0) FROM outbox").fetchone()[0]
        if queued + need > self.max_bytes:
            return "max_bytes"
        if min_free is not None and self.disk_room(need) - reserve < min_free:
            return "disk_space"
        return None

    def make_room(self, pending: PendingPacket) -> None:
        """Drop, in order, until `pending` fits both bounds; lose it if nothing is left."""
        bare = len(pending.data) - sum(pending.parts.values())
        if bare > self.max_bytes:
            self.lose(pending, "too_large")  # even without media it could never fit
        while (reason := self.shortfall(len(pending.data), self.min_free_bytes)) is not None:
            self._free_some(pending, reason)

    def store(self, pending: PendingPacket) -> None:
        """Insert `pending`; on ENOSPC make room (as if min_free were 0) and try again."""
        while True:
            try:
                with transaction(self._conn) as conn:
                    insert_pending(conn, pending, self._clock())
                return
            except sqlite3.OperationalError as exc:
                if not is_disk_full(exc):
                    raise
            logger.warning("outbox: disk full storing packet %s", pending.packet_id)
            # At least one step each time round, even when the estimate saw room: it was wrong.
            # Then room for the packet and for the reserve, so the next ENOSPC finds one; but
            # only at the cost of media. When another program holds the disk the reserve may
            # never fit again: whole packets then go one at a time, each followed by a retry,
            # rather than all of them (and the incoming one after them).
            self._free_some(pending, "disk_full")
            while (
                self._media_left(pending)
                and self.shortfall(len(pending.data), 0, self._reserve.missing()) is not None
            ):
                self._free_some(pending, "disk_full")

    def _media_left(self, pending: PendingPacket) -> bool:
        """Whether a part (of the incoming packet or a stored one) is still there to drop."""
        if pending.parts:
            return True
        return self._conn.execute("SELECT 1 FROM outbox_part LIMIT 1").fetchone() is not None

    def _free_some(self, pending: PendingPacket, reason: str) -> None:
        """One step towards room: return surplus pages to the disk, else drop the next victim."""
        if reason != "max_bytes" and self._return_surplus(len(pending.data)):
            return
        for attempt in range(2):
            try:
                if not self.drop_next(pending, reason):
                    self.lose(pending, reason)
                return
            except sqlite3.OperationalError as exc:
                if not is_disk_full(exc):
                    raise
            if attempt or not self._reserve.release():
                break
        # Not even a journal's worth of disk: deleting a whole packet needs the least, and lets
        # the part drops go on afterwards, where losing the incoming packet would only repeat.
        try:
            if self._drop_stored_packet("disk_full"):
                return
        except sqlite3.OperationalError as exc:
            if not is_disk_full(exc):
                raise
        self.lose(pending, reason)

    def _return_surplus(self, need: int) -> bool:
        """Shrink the file by free pages the next packet will not reuse; True if it did."""
        page_size = int(self._conn.execute("PRAGMA page_size").fetchone()[0])
        before = free_pages_bytes(self._conn)
        surplus = (before - self._pages_for(need)) // page_size
        # The moved pages are journaled: a step must fit in what the disk still has.
        fits = shutil.disk_usage(self._directory).free // (2 * page_size)
        step = min(surplus, max(fits, _VACUUM_MIN_PAGES), _VACUUM_MAX_PAGES)
        if step < _VACUUM_MIN_PAGES:
            return False
        try:
            self._conn.execute(f"PRAGMA incremental_vacuum({step})").fetchall()
        except sqlite3.OperationalError as exc:
            if not is_disk_full(exc):
                raise
            return False  # the caller drops evidence instead, with the reserve if need be
        return free_pages_bytes(self._conn) < before

    def compact(self) -> None:
        """After acks, give free pages beyond a slack back to the disk (a step at a time).

        A long outage grows the file; once drained, its free pages would otherwise stay out
        of reach of everything else on the box that needs disk.
        """
        if free_pages_bytes(self._conn) > COMPACT_SLACK:
            try:
                self._conn.execute(f"PRAGMA incremental_vacuum({_VACUUM_MAX_PAGES})").fetchall()
            except sqlite3.OperationalError as exc:
                logger.warning("outbox: compaction failed: %s", exc)

    def drop_next(self, pending: PendingPacket, reason: str) -> bool:
        """Drop the next victim in order (clips, stills, then whole packets); False if none."""
        for kind in (KIND_CLIP, KIND_STILL):
            if self._drop_stored_part(kind, reason) or pending.drop(kind, reason, self._clock()):
                return True
        return self._drop_stored_packet(reason)

    def _drop_stored_part(self, kind: str, reason: str) -> bool:
        victim = self._conn.execute(
            "SELECT p.packet_id, p.role, o.seq, o.sha256 FROM outbox_part p"
            " JOIN outbox o USING (packet_id) WHERE p.kind = ? ORDER BY o.seq, p.rank LIMIT 1",
            (kind,),
        ).fetchone()
        if victim is None:
            return False
        packet_id, role, seq, old_sha = victim
        now = self._clock()
        with transaction(self._conn) as conn:
            (old,) = conn.execute(
                "SELECT data FROM outbox_blob WHERE packet_id = ?", (packet_id,)
            ).fetchone()
            new = drop_parts(old, [MediaRole(role)])
            conn.execute("UPDATE outbox_blob SET data = ? WHERE packet_id = ?", (new, packet_id))
            conn.execute(
                "UPDATE outbox SET size = ?, sha256 = ?,"
                " earlier_sha256 = trim(earlier_sha256 || ' ' || ?) WHERE packet_id = ?",
                (len(new), packet_sha256(new), old_sha, packet_id),
            )
            conn.execute(
                "DELETE FROM outbox_part WHERE packet_id = ? AND role = ?", (packet_id, role)
            )
            _log_drop(conn, (packet_id, seq, kind, role, len(old) - len(new), reason, now))
        logger.warning("outbox: dropped %s of packet %s seq %d (%s)", role, packet_id, seq, reason)
        return True

    def _drop_stored_packet(self, reason: str) -> bool:
        victim = self._conn.execute(
            "SELECT packet_id, seq, sha256, size FROM outbox ORDER BY seq LIMIT 1"
        ).fetchone()
        if victim is None:
            return False
        packet_id, seq, sha256, size = victim
        now = self._clock()
        with transaction(self._conn) as conn:
            for table in ("outbox", "outbox_blob", "outbox_part"):
                conn.execute(f"DELETE FROM {table} WHERE packet_id = ?", (packet_id,))
            _log_drop(conn, (packet_id, seq, KIND_PACKET, None, size, reason, now))
            _log_loss(conn, (packet_id, seq, sha256, reason, now))
        logger.critical("outbox: LOST packet %s seq %d to make room (%s)", packet_id, seq, reason)
        return True

    def lose(self, pending: PendingPacket, reason: str) -> NoReturn:
        """Record the incoming packet in the loss log (using the reserve if needed) and raise."""
        row = (pending.packet_id, pending.seq, pending.original_sha256, reason, self._clock())
        for attempt in range(2):
            try:
                with transaction(self._conn) as conn:
                    _log_loss(conn, row)
                break
            except sqlite3.OperationalError as exc:
                if not is_disk_full(exc) or attempt or not self._reserve.release():
                    # The log line is then the only record: it names everything the row would.
                    logger.critical("outbox: cannot even record the loss of %s: %s", row, exc)
                    break
        logger.critical(
            "outbox: LOST incoming packet %s seq %d (%s)", pending.packet_id, pending.seq, reason
        )
        raise OutboxFullError(pending.packet_id, reason)


def _log_drop(conn: sqlite3.Connection, row: tuple[object, ...]) -> None:
    conn.execute(
        "INSERT INTO drop_log (packet_id, seq, kind, role, bytes_freed, reason, dropped_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        row,
    )


def _log_loss(conn: sqlite3.Connection, row: tuple[object, ...]) -> None:
    conn.execute(
        "INSERT INTO loss_log (packet_id, seq, sha256, reason, lost_at) VALUES (?, ?, ?, ?, ?)",
        row,
    )
