"""monthly reports: issued revisions (model, data hash, factor version, changes) and renderings

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_revision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("park_id", sa.String(length=63), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("factors_version", sa.String(length=64), nullable=False),
        sa.Column("generated_ms", sa.BigInteger(), nullable=False),
        sa.Column("generated_by", sa.String(length=64), nullable=False, server_default=""),
        sa.Column("model_json", sa.Text(), nullable=False),
        sa.Column("changes_json", sa.Text(), nullable=False, server_default="[]"),
    )
    op.create_index(
        "ux_report_revision", "report_revision", ["park_id", "month", "revision"], unique=True
    )
    op.create_table(
        "report_file",
        sa.Column("park_id", sa.String(length=63), primary_key=True),
        sa.Column("month", sa.String(length=7), primary_key=True),
        sa.Column("revision", sa.Integer(), primary_key=True),
        sa.Column("format", sa.String(length=8), primary_key=True),
        sa.Column("lang", sa.String(length=4), primary_key=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("report_file")
    op.drop_index("ux_report_revision", table_name="report_revision")
    op.drop_table("report_revision")
