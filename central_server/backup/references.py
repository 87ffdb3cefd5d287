"""What a database holds, read inside one snapshot: row counts, evidence references, keys.

`referenced_media` lists every evidence-store object the database still needs: packets' signed
bytes and media parts (not those dropped on the box, nor those of cases retention purged),
quarantined messages' bytes, monthly report files and the boxes' command replies (snapshots,
logs). A table the database does not have yet (an older schema) is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Connection, String, cast, column, false, func, inspect, select, table
from sqlmodel import col

from central_server.models import EvidencePart, Packet, Quarantine, ServerKey, Violation
from central_server.reports.models import MonthlyReport
from central_server.retention.models import RetentionPurge


def table_names(conn: Connection) -> list[str]:
    """The tables of the connection's schema (its search_path on PostgreSQL)."""
    return sorted(inspect(conn).get_table_names())


def row_counts(conn: Connection) -> dict[str, int]:
    """Rows per table."""
    return {
        name: int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())
        for name in table_names(conn)
    }


def schema_revision(conn: Connection) -> str | None:
    """The database's Alembic revision (None: never migrated)."""
    heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(sorted(heads)) or None


def server_public_keys(conn: Connection) -> list[dict[str, Any]]:
    """Every server public key with its validity, oldest first (what verifies old signatures)."""
    if "server_key" not in table_names(conn):
        return []
    columns = (ServerKey.key_id, ServerKey.public_key, ServerKey.created_at, ServerKey.retired_at)
    rows = conn.execute(select(*map(col, columns)).order_by(col(ServerKey.created_at)))
    return [
        {
            "key_id": row.key_id,
            "public_key": bytes(row.public_key).hex(),
            "created_at": row.created_at.isoformat(),
            "retired_at": None if row.retired_at is None else row.retired_at.isoformat(),
        }
        for row in rows
    ]


def referenced_media(conn: Connection) -> dict[str, str]:
    """Every evidence object the database references, with one place that references it."""
    present = set(table_names(conn))
    found: dict[str, str] = {}
    for sha256, where in _references(conn, present):
        if sha256:
            found.setdefault(sha256, where)
    return found


def _purged_packets(present: set[str]) -> Any:
    """Packets of cases whose media retention purged (their hashes stay, their bytes do not)."""
    if "retention_purge" not in present:
        return select(col(Violation.packet_id)).where(false())
    purged = select(col(RetentionPurge.entity_id)).where(
        col(RetentionPurge.entity_type) == "violation"
    )
    return select(col(Violation.packet_id)).where(cast(col(Violation.id), String).in_(purged))


def _references(conn: Connection, present: set[str]) -> Iterator[tuple[str | None, str]]:
    purged = _purged_packets(present)
    packets = select(col(Packet.blob_sha256), col(Packet.packet_id)).where(
        col(Packet.packet_id).not_in(purged)
    )
    for sha, packet_id in conn.execute(packets):
        yield sha, f"packet {packet_id}"
    parts = select(col(EvidencePart.sha256), col(EvidencePart.packet_id), col(EvidencePart.role))
    parts = parts.where(
        col(EvidencePart.dropped).is_(False), col(EvidencePart.packet_id).not_in(purged)
    )
    for sha, packet_id, role in conn.execute(parts):
        yield sha, f"packet {packet_id} {role}"
    crops = select(col(Violation.plate_crop_sha256), col(Violation.id)).where(
        col(Violation.plate_crop_sha256).is_not(None), col(Violation.packet_id).not_in(purged)
    )
    for crop, violation_id in conn.execute(crops):
        yield crop, f"violation {violation_id} plate crop"
    quarantined = select(col(Quarantine.blob_sha256), col(Quarantine.id))
    for blob, row_id in conn.execute(quarantined.where(col(Quarantine.blob_sha256).is_not(None))):
        yield blob, f"quarantine {row_id}"
    if "monthly_report" in present:
        yield from _report_files(conn)
    if "device_command" in present:
        yield from _command_replies(conn)


def _report_files(conn: Connection) -> Iterator[tuple[str, str]]:
    columns = (MonthlyReport.pdf_sha256, MonthlyReport.xlsx_sha256, MonthlyReport.csv_sha256)
    statement = select(col(MonthlyReport.period), col(MonthlyReport.revision), *map(col, columns))
    for period, revision, *hashes in conn.execute(statement):
        for sha in hashes:
            yield sha, f"report {period} r{revision}"


# Named here rather than imported: the backup reads whichever schema revision it finds.
_DEVICE_COMMAND = table(
    "device_command", column("id"), column("reply_sha256"), column("reply", JSON)
)


def _command_replies(conn: Connection) -> Iterator[tuple[str, str]]:
    c = _DEVICE_COMMAND.c
    statement = select(c.id, c.reply_sha256, c.reply).where(c.reply_sha256.is_not(None))
    for command_id, reply_sha, reply in conn.execute(statement):
        yield reply_sha, f"command {command_id} reply"
        for kind in ("snapshot", "log"):
            payload = (reply or {}).get(kind)
            if isinstance(payload, dict) and isinstance(payload.get("sha256"), str):
                yield payload["sha256"], f"command {command_id} {kind}"
