"""Fleet health: device state, online intervals, daily figures, alarms (issue 12).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
OPEN_ALARM = sa.text("cleared_at IS NULL")


def _device_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["device_id"], ["device.id"], name=op.f(f"fk_{table}_device_id_device")
    )


def upgrade() -> None:
    """Create device_health, device_online_interval, device_daily and device_alarm."""
    op.create_table(
        "device_health",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("online_since", TS, nullable=True),
        sa.Column("offline_since", TS, nullable=True),
        sa.Column("last_heartbeat_at", TS, nullable=True),
        sa.Column("last_status_at", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("software_version", sa.String(length=200), nullable=True),
        sa.Column("uptime_s", sa.Float(), nullable=True),
        sa.Column("fps_in", sa.Float(), nullable=True),
        sa.Column("fps_processed", sa.Float(), nullable=True),
        sa.Column("detection_latency_ms", sa.Float(), nullable=True),
        sa.Column("dropped_frames", sa.BigInteger(), nullable=True),
        sa.Column("outbox_depth", sa.Integer(), nullable=True),
        sa.Column("outbox_bytes", sa.BigInteger(), nullable=True),
        sa.Column("outbox_in_flight", sa.Integer(), nullable=True),
        sa.Column("outbox_oldest_at", TS, nullable=True),
        sa.Column("outbox_trend", sa.JSON(), nullable=False),
        sa.Column("dead_letters", sa.Integer(), nullable=True),
        sa.Column("dropped_clips", sa.Integer(), nullable=True),
        sa.Column("dropped_stills", sa.Integer(), nullable=True),
        sa.Column("dropped_metadata", sa.Integer(), nullable=True),
        sa.Column("last_drop_at", TS, nullable=True),
        sa.Column("disk_free_bytes", sa.BigInteger(), nullable=True),
        sa.Column("disk_total_bytes", sa.BigInteger(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("clock_synced", sa.Boolean(), nullable=True),
        sa.Column("clock_source", sa.String(length=32), nullable=True),
        sa.Column("clock_offset_ms", sa.Float(), nullable=True),
        sa.Column("camera_problems", sa.JSON(), nullable=False),
        sa.Column("box_alarms", sa.JSON(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=True),
        sa.Column("config_sha256", sa.String(length=64), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        _device_fk("device_health"),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_health")),
    )
    op.create_table(
        "device_online_interval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        _device_fk("device_online_interval"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_online_interval")),
    )
    op.create_index(
        "ix_device_online_interval_device_started",
        "device_online_interval",
        ["device_id", "started_at"],
    )
    op.create_table(
        "device_daily",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("heartbeats", sa.Integer(), nullable=False),
        sa.Column("online_s", sa.Float(), nullable=False),
        sa.Column("uptime_share", sa.Float(), nullable=True),
        sa.Column("offline_events", sa.Integer(), nullable=False),
        sa.Column("max_outbox_depth", sa.Integer(), nullable=False),
        sa.Column("packets", sa.Integer(), nullable=False),
        sa.Column("dropped_evidence", sa.Integer(), nullable=False),
        sa.Column("max_dead_letters", sa.Integer(), nullable=False),
        sa.Column("min_disk_free_bytes", sa.BigInteger(), nullable=True),
        sa.Column("max_temperature_c", sa.Float(), nullable=True),
        sa.Column("max_abs_clock_offset_ms", sa.Float(), nullable=True),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _device_fk("device_daily"),
        sa.PrimaryKeyConstraint("device_id", "day", name=op.f("pk_device_daily")),
    )
    op.create_table(
        "device_alarm",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("message_vi", sa.String(length=500), nullable=False),
        sa.Column("message_en", sa.String(length=500), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("cleared_at", TS, nullable=True),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=128), nullable=True),
        sa.Column("acknowledged_note", sa.String(length=500), nullable=True),
        _device_fk("device_alarm"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_alarm")),
    )
    op.create_index(op.f("ix_device_alarm_device_id"), "device_alarm", ["device_id"])
    op.create_index(op.f("ix_device_alarm_raised_at"), "device_alarm", ["raised_at"])
    op.create_index(
        "uq_device_alarm_open",
        "device_alarm",
        ["device_id", "code"],
        unique=True,
        sqlite_where=OPEN_ALARM,
        postgresql_where=OPEN_ALARM,
    )


def downgrade() -> None:
    """Drop the fleet-health tables."""
    op.drop_index("uq_device_alarm_open", table_name="device_alarm")
    op.drop_index(op.f("ix_device_alarm_raised_at"), table_name="device_alarm")
    op.drop_index(op.f("ix_device_alarm_device_id"), table_name="device_alarm")
    op.drop_table("device_alarm")
    op.drop_table("device_daily")
    op.drop_index("ix_device_online_interval_device_started", table_name="device_online_interval")
    op.drop_table("device_online_interval")
    op.drop_table("device_health")
