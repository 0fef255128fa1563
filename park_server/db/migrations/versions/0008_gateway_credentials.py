"""gateways: broker password hash and setpoint signing key; measured clock offset

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gateway") as batch_op:
        batch_op.add_column(sa.Column("broker_password_hash", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("setpoint_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("clock_offset_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("clock_checked_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gateway") as batch_op:
        batch_op.drop_column("clock_checked_ms")
        batch_op.drop_column("clock_offset_s")
        batch_op.drop_column("setpoint_key")
        batch_op.drop_column("broker_password_hash")
