"""Dead letters: packets the server rejected, kept in the outbox file for a technician.

The server answers `rejected` (with a reason) to a packet it will never store as sent: a bad
signature, an unknown device, a replay... The box keeps every such packet, unaltered, with the
signed ack that rejected it, so it can be listed, exported for an inquiry, or resent once the cause
is fixed (`trafficwatch agent dead-letter list|export|resend`, see `cli_main`).
"""

from __future__ import annotations

import argparse
import builtins
import json
import logging
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge_agent.outbox import Outbox

logger = logging.getLogger(__name__)

DEAD_LETTER_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letter (
    packet_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT,
    rejected_at REAL NOT NULL,
    ack_bytes BLOB,
    data BLOB NOT NULL
);
"""
_COLUMNS = (
    "packet_id, seq, sha256, reason, detail, rejected_at, length(data), ack_bytes IS NOT NULL"
)


@dataclass(frozen=True)
class DeadLetter:
    """A rejected packet as listed (the bytes stay in the database until exported)."""

    packet_id: uuid.UUID
    seq: int
    sha256: str
    reason: str
    detail: str | None
    rejected_at: float
    size: int
    has_ack: bool

    @property
    def rejected_at_iso(self) -> str:
        """Rejection time as ISO 8601 UTC."""
        return datetime.fromtimestamp(self.rejected_at, timezone.utc).isoformat()


def insert(
    conn: sqlite3.Connection,
    *,
    packet_id: str,
    seq: int,
    data: bytes,
    sha256: str,
    reason: str,
    detail: str | None,
    rejected_at: float,
    ack_bytes: bytes | None,
) -> None:
    """Add a dead letter inside the caller's transaction (a repeat rejection replaces it)."""
    conn.execute(
        "INSERT OR REPLACE INTO dead_letter"
        " (packet_id, seq, sha256, reason, detail, rejected_at, ack_bytes, data)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (packet_id, seq, sha256, reason, detail, rejected_at, ack_bytes, data),
    )


def count(conn: sqlite3.Connection) -> int:
    """Number of dead letters."""
    return int(conn.execute("SELECT COUNT(*) FROM dead_letter").fetchone()[0])


def _row(row: tuple[object, ...]) -> DeadLetter:
    key, seq, sha256, reason, detail, rejected_at, size, has_ack = row
    return DeadLetter(
        uuid.UUID(str(key)),
        int(str(seq)),
        str(sha256),
        str(reason),
        None if detail is None else str(detail),
        float(str(rejected_at)),
        int(str(size)),
        bool(has_ack),
    )


class DeadLetterStore:
    """List, export and resend the dead letters of one outbox."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def export(self, dest_dir: str | Path) -> Path:
        """Write `<packet_id>.twep` (and `.ack`) files plus manifest.json; return its path."""
        dest = Path(dest_dir)
        dest.mkdir(parents=True, exist_ok=True)
        entries = []
        with self._outbox.transaction() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS}, data, ack_bytes FROM dead_letter ORDER BY seq"
            ).fetchall()
        for row in rows:
            letter, data, ack = _row(row[:8]), row[8], row[9]
            name = f"{letter.packet_id}.twep"
            (dest / name).write_bytes(data)
            entry = {
                "packet_id": str(letter.packet_id),
                "seq": letter.seq,
                "sha256": letter.sha256,
                "reason": letter.reason,
                "detail": letter.detail,
                "rejected_at": letter.rejected_at_iso,
                "file": name,
                "ack_file": None,
            }
            if ack is not None:
                entry["ack_file"] = f"{letter.packet_id}.ack"
                (dest / f"{letter.packet_id}.ack").write_bytes(ack)
            entries.append(entry)
        manifest = dest / "manifest.json"
        text = json.dumps({"dead_letters": entries}, ensure_ascii=False, indent=2)
        manifest.write_text(text + "\n", encoding="utf-8")
        return manifest

    def resend(self, packet_ids: Iterable[uuid.UUID] | None = None) -> builtins.list[uuid.UUID]:
        """Move dead letters (all when `packet_ids` is None) back into the queue; return them."""
        moved: builtins.list[uuid.UUID] = []
        with self._outbox.transaction() as conn:
            if packet_ids is None:
                keys = [k for (k,) in conn.execute("SELECT packet_id FROM dead_letter")]
            else:
                keys = [str(p) for p in packet_ids]
            for key in keys:
                row = conn.execute(
                    "SELECT seq, data FROM dead_letter WHERE packet_id = ?", (key,)
                ).fetchone()
                if row is None:
                    continue
                self._outbox.requeue(conn, key, row[0], bytes(row[1]))
                conn.execute("DELETE FROM dead_letter WHERE packet_id = ?", (key,))
                moved.append(uuid.UUID(key))
        if moved:
            logger.info("dead letters requeued for sending: %s", ", ".join(map(str, moved)))
        return moved

    def list(self) -> builtins.list[DeadLetter]:
        """Every dead letter, oldest sequence first."""
        with self._outbox.transaction() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM dead_letter ORDER BY seq").fetchall()
        return [_row(row) for row in rows]


def _say(text: str) -> None:
    print(text)  # noqa: T201 (this is the CLI's output)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trafficwatch agent dead-letter",
        description="Gói bị máy chủ từ chối (dead letters): xem, xuất, gửi lại. "
        "/ Packets the server rejected: list, export, resend.",
    )
    parser.add_argument("--outbox", required=True, type=Path, help="tệp hàng đợi / outbox file")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="liệt kê / list")
    export = sub.add_parser("export", help="xuất ra thư mục / export to a directory")
    export.add_argument("dest", type=Path, help="thư mục đích / destination directory")
    resend = sub.add_parser("resend", help="gửi lại / resend")
    resend.add_argument("packet_ids", nargs="*", type=uuid.UUID, help="mã gói / packet ids")
    resend.add_argument("--all", action="store_true", help="tất cả / all of them")
    return parser


def _list(store: DeadLetterStore) -> int:
    letters = store.list()
    if not letters:
        _say("Không có gói nào bị từ chối. / No dead letters.")
        return 0
    _say(f"{len(letters)} gói bị từ chối / dead letters:")
    for d in letters:
        detail = f" — {d.detail}" if d.detail else ""
        _say(f"  {d.packet_id}  seq={d.seq}  {d.reason}{detail}  {d.rejected_at_iso}  {d.size} B")
    return 0


def _resend(store: DeadLetterStore, args: argparse.Namespace) -> int:
    if args.all == bool(args.packet_ids):
        _say("Hãy nêu mã gói hoặc --all. / Give packet ids or --all.")
        return 2
    moved = store.resend(None if args.all else args.packet_ids)
    _say(f"Đã đưa {len(moved)} gói trở lại hàng đợi gửi. / Requeued {len(moved)} packets.")
    missing = [] if args.all else [p for p in args.packet_ids if p not in moved]
    for packet_id in missing:
        _say(f"Không tìm thấy gói / Not found: {packet_id}")
    return 1 if missing else 0


def cli_main(argv: Sequence[str] | None = None) -> int:
    """`trafficwatch agent dead-letter --outbox PATH list|export DEST|resend IDS|--all`."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage; hand its code back
        return int(exc.code or 0)
    if not args.outbox.is_file():
        _say(f"Không tìm thấy hàng đợi tại {args.outbox}. / No outbox at {args.outbox}.")
        return 2
    from edge_agent.outbox import Outbox  # the outbox imports this module: import late

    outbox = Outbox(args.outbox, reserve_bytes=0)
    try:
        store = DeadLetterStore(outbox)
        if args.command == "list":
            return _list(store)
        if args.command == "export":
            manifest = store.export(args.dest)
            _say(f"Đã xuất các gói vào {manifest}. / Exported to {manifest}.")
            return 0
        return _resend(store, args)
    finally:
        outbox.close()
