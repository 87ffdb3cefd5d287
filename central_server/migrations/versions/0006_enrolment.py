"""Device enrolment tokens and the devices' broker credentials (issue 12, provisioning).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create enrolment_token and device_broker_credential."""
    op.create_table(
        "enrolment_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("shown_prefix", sa.String(length=16), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("camera_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("used_by_device_id", sa.String(length=64), nullable=True),
        sa.Column("used_key_id", sa.String(length=16), nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_enrolment_token_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_token")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_enrolment_token_token_sha256")),
    )
    op.create_index(op.f("ix_enrolment_token_site_id"), "enrolment_token", ["site_id"])
    op.create_table(
        "device_broker_credential",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["device.id"],
            name=op.f("fk_device_broker_credential_device_id_device"),
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_broker_credential")),
        sa.UniqueConstraint("username", name=op.f("uq_device_broker_credential_username")),
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("device_broker_credential")
    op.drop_index(op.f("ix_enrolment_token_site_id"), table_name="enrolment_token")
    op.drop_table("enrolment_token")
