"""who acknowledged an event (alarm), and when

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("acknowledged_ms", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("acknowledged_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("acknowledged_by")
        batch.drop_column("acknowledged_ms")
