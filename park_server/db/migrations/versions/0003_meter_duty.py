"""meter duty: primary meters count, check and sub-meters are compared

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meter") as batch:
        batch.add_column(
            sa.Column("duty", sa.String(length=16), nullable=False, server_default="primary")
        )


def downgrade() -> None:
    with op.batch_alter_table("meter") as batch:
        batch.drop_column("duty")
