"""weather forecasts from a park's configured source

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "weather_forecast",
        sa.Column("park_id", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("variable", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("valid_ms", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("issued_ms", sa.BigInteger(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("park_id", "variable", "valid_ms"),
    )


def downgrade() -> None:
    op.drop_table("weather_forecast")
