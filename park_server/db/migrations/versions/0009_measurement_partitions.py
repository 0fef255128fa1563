"""measurement partitioned by month of ts_ms on PostgreSQL (rows copied); SQLite unchanged

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

from park_server.db import partitions
from park_server.timeutil import now_ms

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD = "measurement_unpartitioned"


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql" or partitions.is_partitioned(conn):
        return
    conn.execute(text(f"ALTER TABLE measurement RENAME TO {OLD}"))
    conn.execute(text(f"ALTER TABLE {OLD} RENAME CONSTRAINT measurement_pkey TO {OLD}_pkey"))
    partitions.create_partitioned_table(conn, like=OLD)
    months = conn.execute(
        text(
            "SELECT DISTINCT (extract(epoch FROM date_trunc('month', "
            f"to_timestamp(ts_ms / 1000.0) AT TIME ZONE 'UTC')) * 1000)::bigint FROM {OLD}"
        )
    ).all()
    for (start,) in months:  # a partition for every month that has rows, before they are copied
        partitions.create_month(conn, int(start))
    partitions.ensure_partitions(conn, now_ms())
    conn.execute(text(f"INSERT INTO measurement SELECT * FROM {OLD}"))
    conn.execute(text(f"DROP TABLE {OLD}"))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql" or not partitions.is_partitioned(conn):
        return
    conn.execute(text(f"CREATE TABLE {OLD} (LIKE measurement INCLUDING DEFAULTS)"))
    conn.execute(text(f"INSERT INTO {OLD} SELECT * FROM measurement"))
    conn.execute(text("DROP TABLE measurement CASCADE"))
    conn.execute(text(f"ALTER TABLE {OLD} RENAME TO measurement"))
    conn.execute(
        text(
            "ALTER TABLE measurement ADD CONSTRAINT measurement_pkey "
            "PRIMARY KEY (park_id, meter_id, quantity, ts_ms)"
        )
    )
