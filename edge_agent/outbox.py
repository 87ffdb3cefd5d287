"""The evidence outbox: an on-disk, fsync'd, bounded queue that survives kill -9 and power loss.

A packet enters with `put()` (durable once it returns), leaves only on a valid signed `stored` or
`duplicate` ack, or moves to the dead-letter table on `rejected`. Why SQLite with a rollback
journal and synchronous=FULL is in `outbox_db`; how room is made, never silently, in
`outbox_space`.
One connection guarded by one lock serves the capture thread and the publisher thread.
"""

from __future__ import annotations

import contextlib
import logging
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from edge_agent import dead_letter
from edge_agent.outbox_db import Reserve, connect, transaction
from edge_agent.outbox_pending import (
    KIND_CLIP,
    KIND_PACKET,
    KIND_STILL,
    OutboxFullError,
    PendingPacket,
    insert_pending,
)
from edge_agent.outbox_records import (
    AckOutcome,
    DropRecord,
    LossRecord,
    OutboxItem,
    OutboxStats,
)
from edge_agent.outbox_space import SpaceKeeper
from protocol.enums import AckStatus

__all__ = [
    "AckOutcome",
    "DropRecord",
    "LossRecord",
    "Outbox",
    "OutboxFullError",
    "OutboxItem",
    "OutboxStats",
]

logger = logging.getLogger(__name__)

GIB = 1024**3
MIB = 1024**2


class Outbox:
    """A durable, bounded, thread-safe queue of signed evidence packets.

    `max_bytes` bounds the queued packets (dead letters are kept outside it); `min_free_bytes`
    is the disk space a put must leave (None: no estimate, rely on ENOSPC alone, for tests);
    `reserve_bytes` is pre-allocated beside the database and freed when the disk is full.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_bytes: int = 4 * GIB,
        min_free_bytes: int | None = 512 * MIB,
        reserve_bytes: int = 1 * MIB,
        ack_timeout: float = 30.0,
        max_backoff: float = 900.0,
        jitter: float = 0.25,
        rng: random.Random | None = None,
    ) -> None:
        if ack_timeout <= 0 or max_backoff < ack_timeout or not 0 <= jitter <= 1:
            raise ValueError("need 0 < ack_timeout <= max_backoff and 0 <= jitter <= 1")
        self.path = Path(path)
        self.ack_timeout = ack_timeout
        self.max_backoff = max_backoff
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._lock = threading.RLock()
        self._claimed: set[str] = set()  # handed out by due(), not yet published: in memory only
        self._mismatches = 0
        self._conn = connect(self.path)
        self._reserve = Reserve(self.path.with_name(self.path.name + ".reserve"), reserve_bytes)
        self._space = SpaceKeeper(self._conn, self.path, max_bytes, min_free_bytes, self._reserve)
        self._reserve.ensure(min_free_bytes or 0)

    def close(self) -> None:
        """Close the database (every put is already committed)."""
        with self._lock:
            self._conn.close()

    def durability(self) -> dict[str, object]:
        """The connection's journal mode and synchronous level (2 = FULL: every commit fsyncs)."""
        with self._lock:
            mode = self._conn.execute("PRAGMA journal_mode").fetchone()[0]
            level = self._conn.execute("PRAGMA synchronous").fetchone()[0]
        return {"journal_mode": mode, "synchronous": level}

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the outbox lock and one SQLite transaction (for the dead-letter store)."""
        with self._lock, transaction(self._conn) as conn:
            yield conn

    def put(self, packet_id: uuid.UUID, seq: int, data: bytes) -> None:
        """Store a packet durably (committed when this returns); a known packet id is a no-op."""
        key = str(packet_id)
        with self._lock:
            if self._known(key):
                logger.info("outbox: packet %s already stored; put ignored", key)
                return
            pending = PendingPacket.from_data(key, seq, data)
            self._space.make_room(pending)
            self._space.store(pending)
            self._reserve.ensure(self._space.min_free_bytes or 0)

    def _known(self, key: str) -> bool:
        for table in ("outbox", "dead_letter"):
            query = f"SELECT 1 FROM {table} WHERE packet_id = ?"
            if self._conn.execute(query, (key,)).fetchone() is not None:
                return True
        return False

    def requeue(self, conn: sqlite3.Connection, packet_id: str, seq: int, data: bytes) -> bool:
        """Put a packet back in the queue, attempts reset, inside the caller's transaction."""
        with self._lock:
            if conn.execute("SELECT 1 FROM outbox WHERE packet_id = ?", (packet_id,)).fetchone():
                return False
            insert_pending(conn, PendingPacket.from_data(packet_id, seq, data), time.time())
            return True

    def due(self, limit: int, now: float | None = None) -> list[OutboxItem]:
        """Packets whose next attempt is due, oldest seq first, not already handed out."""
        now = time.time() if now is None else now
        # A next attempt further ahead than any backoff means the clock went back: due now.
        horizon = now + self.max_backoff * (1 + self.jitter) + 1
        with self._lock:
            rows = self._conn.execute(
                "SELECT packet_id FROM outbox WHERE next_attempt_at <= ? OR next_attempt_at > ?"
                " ORDER BY seq LIMIT ?",
                (now, horizon, max(limit, 0) + len(self._claimed)),
            )
            keys = [k for (k,) in rows if k not in self._claimed][: max(limit, 0)]
            items = [self._item(key) for key in keys]
            self._claimed.update(keys)
        return items

    def _item(self, key: str) -> OutboxItem:
        seq, sha256, attempts, created_at, data = self._conn.execute(
            "SELECT o.seq, o.sha256, o.attempts, o.created_at, b.data FROM outbox o"
            " JOIN outbox_blob b USING (packet_id) WHERE o.packet_id = ?",
            (key,),
        ).fetchone()
        return OutboxItem(uuid.UUID(key), seq, bytes(data), sha256, attempts, created_at)

    def release(self, packet_id: uuid.UUID) -> None:
        """Hand a packet back unpublished (its chunks never all got PUBACK): due again now."""
        with self._lock:
            self._claimed.discard(str(packet_id))

    def mark_published(self, packet_id: uuid.UUID, now: float | None = None) -> float | None:
        """Count an attempt and schedule the retry (ack timeout x capped exponential backoff)."""
        now = time.time() if now is None else now
        key = str(packet_id)
        with self._lock:
            self._claimed.discard(key)
            row = self._conn.execute(
                "SELECT attempts FROM outbox WHERE packet_id = ?", (key,)
            ).fetchone()
            if row is None:
                return None  # dropped or acked meanwhile
            attempts = row[0] + 1
            at = now + self.retry_delay(attempts)
            with transaction(self._conn) as conn:
                conn.execute(
                    "UPDATE outbox SET attempts = ?, next_attempt_at = ? WHERE packet_id = ?",
                    (attempts, at, key),
                )
            return at

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait for an ack after attempt number `attempts` (1-based), with jitter."""
        base = self.ack_timeout * 2.0 ** min(max(attempts - 1, 0), 30)
        # Jitter only lengthens the wait: a retry before ack_timeout would only add duplicates.
        return min(base, self.max_backoff) * (1 + self.jitter * self._rng.random())

    def acked(
        self,
        packet_id: uuid.UUID,
        sha256: str,
        status: AckStatus | str,
        reason: str | None = None,
        ack_bytes: bytes | None = None,
        detail: str | None = None,
    ) -> AckOutcome:
        """Apply a verified ack: stored/duplicate delete the packet, rejected dead-letters it."""
        status = AckStatus(status)
        key = str(packet_id)
        with self._lock:
            row = self._conn.execute(
                "SELECT seq, sha256, earlier_sha256 FROM outbox WHERE packet_id = ?", (key,)
            ).fetchone()
            if row is None:
                logger.debug("outbox: ack for unknown packet %s (already acked?)", key)
                return AckOutcome.unknown
            seq, current, earlier = row
            # A version from before a drop is the same signed evidence with more media: accept it.
            if sha256 not in {current, *earlier.split()}:
                self._mismatches += 1
                logger.warning("outbox: ack for %s names sha256 %s, not ours; ignored", key, sha256)
                return AckOutcome.mismatch
            with transaction(self._conn) as conn:
                if status is AckStatus.rejected:
                    self._dead_letter(conn, key, seq, current, reason, detail, ack_bytes)
                self._delete(conn, key)
            self._claimed.discard(key)
            self._space.compact()
        if status is AckStatus.rejected:
            logger.error("outbox: packet %s rejected by the server (%s)", key, reason)
            return AckOutcome.dead_lettered
        return AckOutcome.deleted

    def park(self, packet_id: uuid.UUID, reason: str, detail: str) -> bool:
        """Set a packet the transport cannot carry aside as a dead letter (kept, resendable)."""
        key = str(packet_id)
        with self._lock:
            row = self._conn.execute(
                "SELECT seq, sha256 FROM outbox WHERE packet_id = ?", (key,)
            ).fetchone()
            if row is None:
                return False  # acked or dropped meanwhile
            with transaction(self._conn) as conn:
                self._dead_letter(conn, key, row[0], row[1], reason, detail, None)
                self._delete(conn, key)
            self._claimed.discard(key)
        logger.error("outbox: packet %s parked as a dead letter (%s): %s", key, reason, detail)
        return True

    @staticmethod
    def _dead_letter(
        conn: sqlite3.Connection,
        key: str,
        seq: int,
        sha256: str,
        reason: str | None,
        detail: str | None,
        ack_bytes: bytes | None,
    ) -> None:
        (data,) = conn.execute(
            "SELECT data FROM outbox_blob WHERE packet_id = ?", (key,)
        ).fetchone()
        dead_letter.insert(
            conn,
            packet_id=key,
            seq=seq,
            data=bytes(data),
            sha256=sha256,
            reason=reason or "unspecified",
            detail=detail,
            rejected_at=time.time(),
            ack_bytes=ack_bytes,
        )

    @staticmethod
    def _delete(conn: sqlite3.Connection, key: str) -> None:
        for table in ("outbox", "outbox_blob", "outbox_part"):
            conn.execute(f"DELETE FROM {table} WHERE packet_id = ?", (key,))

    def stats(self, now: float | None = None) -> OutboxStats:
        """Depth, bytes, oldest age, drops per kind, losses, dead letters and the alarm flag."""
        now = time.time() if now is None else now
        with self._lock:
            q = self._conn.execute
            depth, size, oldest = q(
                "SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(created_at) FROM outbox"
            ).fetchone()
            dropped = dict.fromkeys((KIND_CLIP, KIND_STILL, KIND_PACKET), 0)
            dropped.update(q("SELECT kind, COUNT(*) FROM drop_log GROUP BY kind").fetchall())
            losses = q("SELECT COUNT(*) FROM loss_log").fetchone()[0]
            unseen = q(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM drop_log) > ?"
                " OR (SELECT COALESCE(MAX(id), 0) FROM loss_log) > ?",
                (self._meta("alarm_seen_drop"), self._meta("alarm_seen_loss")),
            ).fetchone()[0]
            return OutboxStats(
                depth=depth,
                bytes=size,
                oldest_at=oldest,
                oldest_age=None if oldest is None else max(now - oldest, 0.0),
                dropped=dropped,
                losses=losses,
                dead_letters=dead_letter.count(self._conn),
                sha_mismatches=self._mismatches,
                reserve_ok=self._reserve.present() or self._reserve.size <= 0,
                alarm=bool(unseen),
            )

    def _meta(self, key: str) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return 0 if row is None else int(row[0])

    def acknowledge_alarm(self) -> None:
        """Clear the alarm for the drops and losses recorded so far (a technician saw them)."""
        with self._lock, transaction(self._conn) as conn:
            for key, table in (("alarm_seen_drop", "drop_log"), ("alarm_seen_loss", "loss_log")):
                latest = f"(SELECT COALESCE(MAX(id), 0) FROM {table})"
                conn.execute(f"INSERT OR REPLACE INTO meta VALUES (?, {latest})", (key,))

    def drops(self) -> list[DropRecord]:
        """Every drop recorded, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT packet_id, seq, kind, role, bytes_freed, reason, dropped_at"
                " FROM drop_log ORDER BY id"
            ).fetchall()
        return [DropRecord(*row) for row in rows]

    def losses(self) -> list[LossRecord]:
        """Every packet recorded as lost, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT packet_id, seq, sha256, reason, lost_at FROM loss_log ORDER BY id"
            ).fetchall()
        return [LossRecord(*row) for row in rows]
