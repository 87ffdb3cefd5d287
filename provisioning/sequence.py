"""The box's sequence numbers as its outbox knows them, and the floor a new key sets.

A device key is valid for a range of sequence numbers. When provisioning registers a new key (a
rotation, a re-enrolment) the server fixes where its range starts; provisioning then raises the
agent's own counter (the outbox's `meta.next_seq`, `edge_agent.evidence.packet.SequenceCounter`)
to at least that number, so the agent never signs a sequence the new key does not cover.
"""

from __future__ import annotations

from pathlib import Path

from edge_agent.outbox_db import connect, transaction

# SequenceCounter.KEY: the next number the agent hands out (tests check the two agree).
NEXT_SEQ = "next_seq"
_SEQ_TABLES = ("outbox", "drop_log", "loss_log", "dead_letter")


def next_sequence(outbox_path: Path) -> int:
    """The box's next sequence number: the agent's counter, and one above every sequence the
    outbox holds or logged (0 for a box that never made a packet)."""
    if not outbox_path.exists():
        return 0
    conn = connect(outbox_path)
    try:
        highest = -1
        for table in _SEQ_TABLES:
            value = conn.execute(f"SELECT MAX(seq) FROM {table}").fetchone()[0]
            highest = max(highest, -1 if value is None else int(value))
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (NEXT_SEQ,)).fetchone()
    finally:
        conn.close()
    return max(highest + 1, int(row[0]) if row else 0)


def raise_seq_floor(outbox_path: Path, floor: int) -> None:
    """Raise the agent's counter so that no sequence below `floor` is used from now on."""
    conn = connect(outbox_path)  # creates the outbox's tables if the agent never ran
    try:
        with transaction(conn):
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (NEXT_SEQ,)).fetchone()
            if row is None or int(row[0]) < floor:
                conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (NEXT_SEQ, floor))
    finally:
        conn.close()
