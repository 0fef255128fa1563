"""carbon: green instruments and trade profiles, budgets, monthly inputs, guide indicators, offsets

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _s(n: int) -> sa.String:
    return sa.String(length=n)


def upgrade() -> None:
    op.create_table(
        "carbon_instrument",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("park_id", _s(63), nullable=False),
        sa.Column("enterprise_id", _s(63), nullable=False, server_default=""),
        sa.Column("kind", _s(8), nullable=False),
        sa.Column("serial_prefix", _s(63), nullable=True),
        sa.Column("serial_first", sa.BigInteger(), nullable=True),
        sa.Column("serial_last", sa.BigInteger(), nullable=True),
        sa.Column("serial_digits", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("mwh", sa.Float(), nullable=False),
        sa.Column("technology", _s(16), nullable=False),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("vintage", _s(7), nullable=False),
        sa.Column("month", _s(7), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_by", _s(64), nullable=False, server_default=""),
    )
    op.create_index("ix_carbon_instrument_park_month", "carbon_instrument", ["park_id", "month"])
    op.create_table(
        "carbon_trade_profile",
        sa.Column(
            "instrument_id",
            sa.Integer(),
            sa.ForeignKey("carbon_instrument.id"),
            primary_key=True,
        ),
        sa.Column("ts_ms", sa.BigInteger(), primary_key=True),
        sa.Column("kwh", sa.Float(), nullable=False),
    )
    op.create_table(
        "carbon_budget",
        sa.Column("park_id", _s(63), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("enterprise_id", _s(63), primary_key=True),
        sa.Column("carbon_t", sa.Float(), nullable=True),
        sa.Column("energy_tce", sa.Float(), nullable=True),
        sa.Column("t_co2_per_t_product", sa.Float(), nullable=True),
        sa.Column("t_co2_per_10k_yuan", sa.Float(), nullable=True),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", _s(64), nullable=False, server_default=""),
    )
    op.create_table(
        "carbon_monthly",
        sa.Column("park_id", _s(63), primary_key=True),
        sa.Column("month", _s(7), primary_key=True),
        sa.Column("enterprise_id", _s(63), primary_key=True),
        sa.Column("production_t", sa.Float(), nullable=False, server_default="0"),
        sa.Column("output_10k_yuan", sa.Float(), nullable=False, server_default="0"),
        sa.Column("coal_t", sa.Float(), nullable=False, server_default="0"),
        sa.Column("natural_gas_m3", sa.Float(), nullable=False, server_default="0"),
        sa.Column("diesel_t", sa.Float(), nullable=False, server_default="0"),
        sa.Column("purchased_heat_gj", sa.Float(), nullable=False, server_default="0"),
        sa.Column("anode_net_consumption_tc_per_t_al", sa.Float(), nullable=True),
        sa.Column("recorded_carbon_t", sa.Float(), nullable=True),
        sa.Column("recorded_energy_tce", sa.Float(), nullable=True),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", _s(64), nullable=False, server_default=""),
    )
    op.create_table(
        "carbon_guide",
        sa.Column("park_id", _s(63), primary_key=True),
        sa.Column("month", _s(7), primary_key=True),
        sa.Column("solid_waste_utilisation", sa.Float(), nullable=True),
        sa.Column("waste_heat_utilisation", sa.Float(), nullable=True),
        sa.Column("water_reuse", sa.Float(), nullable=True),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "carbon_offset",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("park_id", _s(63), nullable=False),
        sa.Column("enterprise_id", _s(63), nullable=False, server_default=""),
        sa.Column("kind", _s(8), nullable=False),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("vintage", sa.Integer(), nullable=False),
        sa.Column("t_co2e", sa.Float(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_by", _s(64), nullable=False, server_default=""),
    )
    op.create_index("ix_carbon_offset_park_id", "carbon_offset", ["park_id"])


def downgrade() -> None:
    op.drop_index("ix_carbon_offset_park_id", table_name="carbon_offset")
    op.drop_table("carbon_offset")
    op.drop_table("carbon_guide")
    op.drop_table("carbon_monthly")
    op.drop_table("carbon_budget")
    op.drop_table("carbon_trade_profile")
    op.drop_index("ix_carbon_instrument_park_month", table_name="carbon_instrument")
    op.drop_table("carbon_instrument")
