"""latest sample per meter and quantity, kept by ingest (the console's live values)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "latest_sample",
        sa.Column("park_id", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("meter_id", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("quantity", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("quality", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("park_id", "meter_id", "quantity"),
    )
    # the newest sample that is not bad (quality 2) of every key already stored
    op.execute(
        "INSERT INTO latest_sample (park_id, meter_id, quantity, ts_ms, value, quality) "
        "SELECT m.park_id, m.meter_id, m.quantity, m.ts_ms, m.value, m.quality FROM measurement m "
        "JOIN (SELECT park_id, meter_id, quantity, MAX(ts_ms) AS ts FROM measurement "
        "WHERE quality < 2 GROUP BY park_id, meter_id, quantity) l ON l.park_id = m.park_id "
        "AND l.meter_id = m.meter_id AND l.quantity = m.quantity AND l.ts = m.ts_ms"
    )


def downgrade() -> None:
    op.drop_table("latest_sample")
