"""Public search: API keys of the city's apps (hashed), each with its own rate limit.

The lookup on `published_violation` needs only the (plate, vehicle_class) index 0003 created:
`Đ`/`D` are folded by querying each stored form of the key, so no new index is needed here.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "public_api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("shown_prefix", sa.String(length=16), nullable=False),
        sa.Column("rate_per_minute", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_public_api_key_key_hash")),
    )


def downgrade() -> None:
    op.drop_table("public_api_key")
