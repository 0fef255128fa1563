"""a token per park that rewritten rollups of a closed month renew (the carbon month cache)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carbon_epoch",
        sa.Column("park_id", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.PrimaryKeyConstraint("park_id"),
    )


def downgrade() -> None:
    op.drop_table("carbon_epoch")
