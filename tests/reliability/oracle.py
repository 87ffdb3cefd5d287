"""The fault suite's oracle and its invariant.

The oracle is what the test's builder recorded when it handed each packet to the outbox: never the
outbox's own table, which is what is under test. Two append-only logs per box directory, written
by whichever process runs the builder (a box killed with `kill -9` leaves them behind):

- `intent.log`: a packet about to be handed over (written before `Outbox.put`);
- `handed.log`: `put` returned (the packet is durable) or raised `OutboxFullError` (the outbox
  recorded its loss).

The invariant: every handed packet is in the database exactly once (one `Packet` row, one
`Violation`) with the recorded sha256, or in the box's loss log, which then raised its alarm. A
packet the outbox had to shrink (a part dropped on a full disk) may be stored under another hash,
provided the drop is in the drop log and the stored bytes carry the same signed header and
signature. Nothing is stored that the builder did not make.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from central_server.db import session_scope
from central_server.evidence_store import EvidenceStore
from central_server.models import Packet, Violation
from edge_agent.outbox import DropRecord, LossRecord, Outbox
from protocol.envelope import decode_packet

INTENT_LOG = "intent.log"
HANDED_LOG = "handed.log"


@dataclass(frozen=True)
class BoxPaths:
    """Where one box keeps its oracle logs and its outbox."""

    log_dir: Path
    outbox_path: Path


@dataclass(frozen=True)
class Record:
    """One packet as the builder made it."""

    packet_id: str
    sha256: str
    seq: int
    signature: str  # hex of the header signature: identifies the evidence across part drops

    def line(self) -> str:
        """The record as one log line."""
        return f"{self.packet_id} {self.sha256} {self.seq} {self.signature}\n"


class OracleLog:
    """Appends records to one box directory's logs (flushed: they survive `kill -9`)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory

    def intend(self, record: Record) -> None:
        """Record a packet about to be handed to the outbox."""
        self._append(INTENT_LOG, record)

    def handed(self, record: Record) -> None:
        """Record a packet the outbox has taken (stored or recorded as lost)."""
        self._append(HANDED_LOG, record)

    def _append(self, name: str, record: Record) -> None:
        # One write of one line, flushed to the kernel (enough for kill -9; power loss is not
        # what these logs face): a kill mid-write leaves at most a partial last line.
        with (self.directory / name).open("a", encoding="ascii") as log:
            log.write(record.line())


def read_log(path: Path) -> dict[str, Record]:
    """The complete lines of a log by packet id (a partial last line is ignored)."""
    if not path.exists():
        return {}
    records = {}
    for line in path.read_text(encoding="ascii").splitlines(keepends=True):
        fields = line.split()
        if not line.endswith("\n") or len(fields) != 4:
            continue
        records[fields[0]] = Record(fields[0], fields[1], int(fields[2]), fields[3])
    return records


@dataclass(frozen=True)
class StoredPacket:
    """What the database holds of one packet."""

    sha256: str
    blob_sha256: str


@dataclass
class BoxState:
    """What a stopped box holds: its loss and drop logs, its depth and its alarm."""

    losses: dict[str, LossRecord]
    drops: dict[str, list[DropRecord]]
    depth: int
    alarm: bool

    @classmethod
    def read(cls, outbox_path: Path) -> BoxState:
        """Open the (stopped) box's outbox and read its logs."""
        outbox = Outbox(outbox_path, min_free_bytes=None, reserve_bytes=0)
        try:
            drops: dict[str, list[DropRecord]] = {}
            for drop in outbox.drops():
                drops.setdefault(drop.packet_id, []).append(drop)
            stats = outbox.stats()
            losses = {loss.packet_id: loss for loss in outbox.losses()}
            return cls(losses, drops, stats.depth, stats.alarm)
        finally:
            outbox.close()


@dataclass
class Verdict:
    """How each handed packet ended; `problems` is empty when the invariant holds."""

    stored: int = 0
    stored_with_drops: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the test log."""
        return (
            f"stored {self.stored}, stored with recorded drops {self.stored_with_drops}, "
            f"lost and logged {self.lost}"
        )


def check_invariant(
    engine: Engine,
    store: EvidenceStore,
    boxes: Iterable[BoxPaths],
) -> Verdict:
    """Check every (stopped) box's handed packets against the database and its loss log."""
    verdict = Verdict()
    intents: dict[str, Record] = {}
    handed: dict[str, tuple[Record, BoxState]] = {}
    for box in boxes:
        state = BoxState.read(box.outbox_path)
        intents |= read_log(box.log_dir / INTENT_LOG)
        for packet_id, record in read_log(box.log_dir / HANDED_LOG).items():
            handed[packet_id] = (record, state)
    with session_scope(engine, read_only=True) as session:
        rows = _stored_rows(session, intents, handed)
        counts = _violations(session, rows)
    for packet_id, (record, state) in handed.items():
        _judge(verdict, record, rows.get(packet_id), counts[packet_id], state, store)
    for packet_id in rows:
        if packet_id not in intents:
            verdict.problems.append(f"{packet_id} is stored but no builder made it")
    return verdict


def _stored_rows(
    session: Session, intents: dict[str, Record], handed: dict[str, tuple[Record, BoxState]]
) -> dict[str, StoredPacket]:
    """Every stored packet of the devices under test."""
    ids = set(intents) | set(handed)
    if not ids:
        return {}
    devices = select(Packet.device_id).where(col(Packet.packet_id).in_(_uuids(ids))).distinct()
    statement = select(Packet).where(col(Packet.device_id).in_(devices))
    # Plain values: the read-only session expires its rows when it ends.
    return {
        str(row.packet_id): StoredPacket(row.sha256, row.blob_sha256)
        for row in session.exec(statement)
    }


def _violations(session: Session, rows: dict[str, StoredPacket]) -> Counter[str]:
    if not rows:
        return Counter()
    statement = select(Violation.packet_id).where(col(Violation.packet_id).in_(_uuids(rows)))
    return Counter(str(packet_id) for packet_id in session.exec(statement))


def _uuids(ids: Iterable[str]) -> list[uuid.UUID]:
    return [uuid.UUID(i) for i in ids]


def _judge(
    verdict: Verdict,
    record: Record,
    row: StoredPacket | None,
    violations: int,
    state: BoxState,
    store: EvidenceStore,
) -> None:
    packet_id = record.packet_id
    if row is not None and violations != 1:
        verdict.problems.append(f"{packet_id} is stored with {violations} violations, not 1")
    if row is not None and row.sha256 == record.sha256:
        verdict.stored += 1
    elif row is not None and _same_evidence_after_drops(record, row, state, store):
        verdict.stored_with_drops += 1
    elif row is not None:
        verdict.problems.append(f"{packet_id} is stored with sha256 {row.sha256}, not ours")
    elif packet_id in state.losses:
        verdict.lost += 1
        if not state.alarm:
            verdict.problems.append(f"{packet_id} is in the loss log but no alarm was raised")
    else:
        verdict.problems.append(f"{packet_id} (seq {record.seq}) is neither stored nor logged")


def _same_evidence_after_drops(
    record: Record, row: StoredPacket, state: BoxState, store: EvidenceStore
) -> bool:
    """A part was dropped after signing: recorded, and the signed evidence is unchanged."""
    if not state.drops.get(record.packet_id):
        return False
    stored = decode_packet(store.get(row.blob_sha256))
    return stored.signature.hex() == record.signature and bool(stored.dropped)
