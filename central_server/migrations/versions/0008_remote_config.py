"""Remote configuration pushes and device commands (issue 12).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
SHA = sa.String(length=64)


def _device_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["device_id"], ["device.id"], name=op.f(f"fk_{table}_device_id_device")
    )


def upgrade() -> None:
    """Create device_config_push and device_command."""
    op.create_table(
        "device_config_push",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("config_sha256", SHA, nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("published_at", TS, nullable=True),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("running_sha256", SHA, nullable=True),
        _device_fk("device_config_push"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_config_push")),
        sa.UniqueConstraint(
            "device_id", "version", name=op.f("uq_device_config_push_device_id_version")
        ),
    )
    op.create_index(op.f("ix_device_config_push_device_id"), "device_config_push", ["device_id"])
    op.create_index("ix_device_config_push_state", "device_config_push", ["state"])
    op.create_table(
        "device_command",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("issued_by", sa.String(length=128), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("reply", sa.JSON(), nullable=True),
        sa.Column("reply_sha256", SHA, nullable=True),
        _device_fk("device_command"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_command")),
    )
    op.create_index(op.f("ix_device_command_device_id"), "device_command", ["device_id"])
    op.create_index("ix_device_command_state", "device_command", ["state"])


def downgrade() -> None:
    """Drop the tables."""
    op.drop_index("ix_device_command_state", table_name="device_command")
    op.drop_index(op.f("ix_device_command_device_id"), table_name="device_command")
    op.drop_table("device_command")
    op.drop_index("ix_device_config_push_state", table_name="device_config_push")
    op.drop_index(op.f("ix_device_config_push_device_id"), table_name="device_config_push")
    op.drop_table("device_config_push")
