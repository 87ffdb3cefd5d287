"""Initial schema: master data, devices and keys, ingest, violations, audit chain, server keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64

# Reused column types. Enumerations are VARCHARs of their values (no database ENUM type), so
# adding a value needs no migration; the application validates them.
SHA = sa.String(length=64)
KEY_ID = sa.String(length=16)
DEVICE_ID = sa.String(length=64)
ENUM = sa.String(length=32)
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """A foreign key named by the metadata's naming convention."""
    name = f"fk_{table}_{column}_{target.split('.')[0]}"
    return sa.ForeignKeyConstraint([column], [target], name=op.f(name))


def _index(table: str, *columns: str, name: str | None = None) -> None:
    op.create_index(name or op.f(f"ix_{table}_{columns[0]}"), table, list(columns), unique=False)


def upgrade() -> None:
    """Create every table and seed the audit chain head."""
    _create_master_data()
    _create_device_tables()
    _create_ingest_tables()
    _create_violation()
    _create_audit_and_keys()


def _create_master_data() -> None:
    op.create_table(
        "unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", ENUM, nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit")),
    )
    op.create_table(
        "site",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("ward", sa.String(length=100), nullable=False),
        sa.Column("province", sa.String(length=100), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("detecting_unit_id", sa.Integer(), nullable=True),
        sa.Column("handling_unit_id", sa.Integer(), nullable=True),
        _fk("site", "detecting_unit_id", "unit.id"),
        _fk("site", "handling_unit_id", "unit.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
    )


def _create_device_tables() -> None:
    op.create_table(
        "device",
        sa.Column("id", DEVICE_ID, nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_seen_at", TS, nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=True),
        sa.Column("status_json", sa.JSON(), nullable=True),
        sa.Column("enrolled_by", sa.String(length=128), nullable=True),
        _fk("device", "site_id", "site.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
    )
    _index("device", "site_id")
    op.create_table(
        "device_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", DEVICE_ID, nullable=False),
        sa.Column("key_id", KEY_ID, nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("valid_from_seq", sa.BigInteger(), nullable=False),
        sa.Column("valid_to_seq", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoked_reason", sa.String(length=500), nullable=True),
        _fk("device_key", "device_id", "device.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_key")),
        sa.UniqueConstraint("key_id", name=op.f("uq_device_key_key_id")),
    )
    _index("device_key", "device_id")
    op.create_table(
        "device_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", DEVICE_ID, nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("valid_to", TS, nullable=True),
        _fk("device_assignment", "device_id", "device.id"),
        _fk("device_assignment", "site_id", "site.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_assignment")),
    )
    _index("device_assignment", "device_id")
    _index("device_assignment", "site_id")
    op.create_table(
        "device_config_archive",
        sa.Column("sha256", SHA, nullable=False),
        sa.Column("device_id", DEVICE_ID, nullable=False),
        sa.Column("kind", ENUM, nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("device_config_archive", "device_id", "device.id"),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_device_config_archive")),
    )
    _index("device_config_archive", "device_id")


def _create_ingest_tables() -> None:
    op.create_table(
        "packet",
        sa.Column("packet_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", DEVICE_ID, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("sha256", SHA, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("key_id", KEY_ID, nullable=False),
        sa.Column("blob_sha256", SHA, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("clock_skew_s", sa.Float(), nullable=False),
        sa.Column("skew_flagged", sa.Boolean(), nullable=False),
        _fk("packet", "device_id", "device.id"),
        sa.PrimaryKeyConstraint("packet_id", name=op.f("pk_packet")),
        sa.UniqueConstraint("device_id", "seq", name=op.f("uq_packet_device_id_seq")),
    )
    _index("packet", "received_at")
    op.create_table(
        "evidence_part",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("packet_id", sa.Uuid(), nullable=False),
        sa.Column("role", ENUM, nullable=False),
        sa.Column("mime", sa.String(length=64), nullable=False),
        sa.Column("sha256", SHA, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("dropped", sa.Boolean(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        _fk("evidence_part", "packet_id", "packet.packet_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_part")),
        sa.UniqueConstraint("packet_id", "role", name=op.f("uq_evidence_part_packet_id_role")),
    )
    op.create_table(
        "chunk_stage",
        sa.Column("packet_id", sa.Uuid(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("device_id", DEVICE_ID, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total_size", sa.Integer(), nullable=False),
        sa.Column("packet_sha256", SHA, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("packet_id", "index", name=op.f("pk_chunk_stage")),
    )
    _index("chunk_stage", "device_id")
    _index("chunk_stage", "received_at")
    _create_ingest_outcomes()


def _create_ingest_outcomes() -> None:
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("device_id", DEVICE_ID, nullable=True),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("sha256", SHA, nullable=False),
        sa.Column("blob_sha256", SHA, nullable=True),
        sa.Column("packet_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    _index("quarantine", "device_id")
    _index("quarantine", "received_at")
    op.create_table(
        "sent_ack",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("packet_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", DEVICE_ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("ack_bytes", sa.LargeBinary(), nullable=False),
        sa.Column("sent_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_ack")),
    )
    _index("sent_ack", "packet_id")
    op.create_table(
        "sequence_gap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", DEVICE_ID, nullable=False),
        sa.Column("from_seq", sa.BigInteger(), nullable=False),
        sa.Column("to_seq", sa.BigInteger(), nullable=False),
        sa.Column("first_noticed_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        _fk("sequence_gap", "device_id", "device.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sequence_gap")),
    )
    _index("sequence_gap", "device_id")


def _create_violation() -> None:
    op.create_table(
        "violation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("packet_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", DEVICE_ID, nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("behaviour", ENUM, nullable=False),
        sa.Column("experimental", sa.Boolean(), nullable=False),
        sa.Column("rule_version", sa.String(length=32), nullable=False),
        sa.Column("vehicle_class", ENUM, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("detected_at", TS, nullable=False),
        sa.Column("status", ENUM, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("plate_text", sa.String(length=16), nullable=True),
        sa.Column("plate_printed", sa.String(length=32), nullable=True),
        sa.Column("plate_colour", sa.String(length=16), nullable=True),
        sa.Column("plate_lines", sa.Integer(), nullable=True),
        sa.Column("plate_confidence", sa.Float(), nullable=True),
        sa.Column("plate_candidates", sa.JSON(), nullable=True),
        sa.Column("plate_crop_sha256", SHA, nullable=True),
        sa.Column("plate_read_at", TS, nullable=True),
        sa.Column("plate_corrected_by", sa.String(length=128), nullable=True),
        sa.Column("plate_corrected_at", TS, nullable=True),
        sa.Column("clock_flagged", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _fk("violation", "device_id", "device.id"),
        _fk("violation", "packet_id", "packet.packet_id"),
        _fk("violation", "site_id", "site.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_violation")),
        sa.UniqueConstraint("packet_id", name=op.f("uq_violation_packet_id")),
    )
    _index("violation", "device_id")
    _index("violation", "plate_text", name="ix_violation_plate_text")
    _index("violation", "site_id", "status", name="ix_violation_site_id_status")
    _index("violation", "status", "occurred_at", name="ix_violation_status_occurred_at")


def _create_audit_and_keys() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=128), nullable=False),
        sa.Column("before_sha256", SHA, nullable=True),
        sa.Column("after_sha256", SHA, nullable=True),
        sa.Column("prev_hash", SHA, nullable=False),
        sa.Column("hash", SHA, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    _index("audit_event", "entity_type", "entity_id", name="ix_audit_event_entity")
    op.create_table(
        "audit_detail",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        _fk("audit_detail", "event_id", "audit_event.id"),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_audit_detail")),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", SHA, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    # The row every append locks; it must exist before the first append can serialise on it.
    op.bulk_insert(head, [{"id": 1, "last_event_id": 0, "last_hash": GENESIS_HASH}])
    op.create_table(
        "audit_head_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("head_hash", SHA, nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", KEY_ID, nullable=False),
        sa.Column("signed_at", TS, nullable=False),
        _fk("audit_head_signature", "event_id", "audit_event.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head_signature")),
    )
    _index("audit_head_signature", "signed_at")
    op.create_table(
        "server_key",
        sa.Column("key_id", KEY_ID, nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retired_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_server_key")),
    )


def downgrade() -> None:
    """Drop every table (indexes go with them), dependants first."""
    for table in (
        "server_key",
        "audit_head_signature",
        "audit_head",
        "audit_detail",
        "audit_event",
        "violation",
        "sequence_gap",
        "sent_ack",
        "quarantine",
        "chunk_stage",
        "evidence_part",
        "packet",
        "device_config_archive",
        "device_assignment",
        "device_key",
        "device",
        "site",
        "unit",
    ):
        op.drop_table(table)
