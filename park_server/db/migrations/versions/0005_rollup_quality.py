"""rollups: covered time, suspect counter decreases, angle resultant; versioned dirty marks

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rollup") as batch_op:
        batch_op.add_column(sa.Column("covered_ms", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("suspect_decreases", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("resultant", sa.Float(), nullable=True))
    with op.batch_alter_table("rollup_dirty") as batch_op:
        batch_op.add_column(
            sa.Column("version", sa.BigInteger(), nullable=False, server_default="0")
        )
    # rollups written before these rules (energy over the whole quarter, counter jitter counted,
    # arithmetic means of angles) are recomputed by the rollup job from the raw rows
    op.execute(
        "INSERT INTO rollup_dirty (park_id, meter_id, quantity, bucket_ms, version) "
        "SELECT DISTINCT park_id, meter_id, quantity, ts_ms, 0 FROM rollup "
        "WHERE resolution = '15min' AND NOT EXISTS (SELECT 1 FROM rollup_dirty d WHERE "
        "d.park_id = rollup.park_id AND d.meter_id = rollup.meter_id AND "
        "d.quantity = rollup.quantity AND d.bucket_ms = rollup.ts_ms)"
    )


def downgrade() -> None:
    with op.batch_alter_table("rollup_dirty") as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table("rollup") as batch_op:
        batch_op.drop_column("resultant")
        batch_op.drop_column("suspect_decreases")
        batch_op.drop_column("covered_ms")
