"""Monthly reports, legal holds and the retention purge record.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create monthly_report, legal_hold and retention_purge."""
    op.create_table(
        "monthly_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("generated_at", TS, nullable=False),
        sa.Column("generated_by", sa.String(length=128), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("xlsx_sha256", sa.String(length=64), nullable=False),
        sa.Column("csv_sha256", sa.String(length=64), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_report")),
        sa.UniqueConstraint("period", "revision", name=op.f("uq_monthly_report_period_revision")),
    )
    op.create_index(op.f("ix_monthly_report_period"), "monthly_report", ["period"])
    op.create_table(
        "legal_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("violation_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("placed_by", sa.String(length=128), nullable=False),
        sa.Column("placed_at", TS, nullable=False),
        sa.Column("released_by", sa.String(length=128), nullable=True),
        sa.Column("released_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["violation_id"], ["violation.id"], name=op.f("fk_legal_hold_violation_id_violation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_hold")),
    )
    op.create_index(op.f("ix_legal_hold_violation_id"), "legal_hold", ["violation_id"])
    op.create_table(
        "retention_purge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=128), nullable=False),
        sa.Column("data_class", sa.String(length=32), nullable=False),
        sa.Column("purged_at", TS, nullable=False),
        sa.Column("blobs_deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_purge")),
        sa.UniqueConstraint(
            "entity_type", "entity_id", name=op.f("uq_retention_purge_entity_type_entity_id")
        ),
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("retention_purge")
    op.drop_index(op.f("ix_legal_hold_violation_id"), table_name="legal_hold")
    op.drop_table("legal_hold")
    op.drop_index(op.f("ix_monthly_report_period"), table_name="monthly_report")
    op.drop_table("monthly_report")
