"""Carbon and green-power accounting of a park, pure: energy balance, green shares, emissions,
energy in tce, zero-carbon park indicators, dual control, offsets and reductions (issue #16,
DESIGN.md §10, docs/carbon.md). It owns the arithmetic only: functions over interval energy
(kWh per 15 min per meter) and typed inputs, returning typed results and §10's response dict.
It may import only numpy, pandas, pydantic, the standard library and ``config`` (factor tables);
no database, web or MQTT code and no other ``park_server`` module — a thin query layer elsewhere
reads the rollups and calls it.
"""

from park_server.carbon.balance import UNASSIGNED, EnergyBalance, energy_balance
from park_server.carbon.budget import (
    BudgetAlarm,
    DualControl,
    Projection,
    budget_alarms,
    dual_control,
    project_year_end,
)
from park_server.carbon.emissions import EmissionLine, Emissions, emissions, intensity
from park_server.carbon.energy import EnergyTce, energy_tce
from park_server.carbon.errors import CarbonInputError, parse_input
from park_server.carbon.factor_lines import CarbonFactors, FactorLine, carbon_factors
from park_server.carbon.green import GreenShares, green_shares, match_trades
from park_server.carbon.indicators import Indicators, indicators
from park_server.carbon.inputs import (
    Budget,
    CarbonSettings,
    EnterpriseSettings,
    Fuels,
    GuideIndicators,
    MeterSpec,
    MonthlyInputs,
    MonthTotals,
    PlanOutcome,
    StorageState,
    Totals,
)
from park_server.carbon.instruments import (
    Certificate,
    HeldRange,
    InstrumentUpload,
    SerialRange,
    Trade,
    held_ranges,
    validate_instrument_csv,
    validate_instrument_rows,
)
from park_server.carbon.offsets import NetEmissions, Offset, apply_offsets
from park_server.carbon.period import Period, period_of
from park_server.carbon.reductions import Reductions, reductions
from park_server.carbon.response import (
    CarbonFigures,
    CarbonInputs,
    carbon_figures,
    carbon_response,
    green_by_day,
    response_dict,
)

__all__ = [
    "UNASSIGNED",
    "Budget",
    "BudgetAlarm",
    "CarbonFactors",
    "CarbonFigures",
    "CarbonInputError",
    "CarbonInputs",
    "CarbonSettings",
    "Certificate",
    "DualControl",
    "EmissionLine",
    "Emissions",
    "EnergyBalance",
    "EnergyTce",
    "EnterpriseSettings",
    "FactorLine",
    "Fuels",
    "GreenShares",
    "GuideIndicators",
    "HeldRange",
    "Indicators",
    "InstrumentUpload",
    "MeterSpec",
    "MonthTotals",
    "MonthlyInputs",
    "NetEmissions",
    "Offset",
    "Period",
    "PlanOutcome",
    "Projection",
    "Reductions",
    "SerialRange",
    "StorageState",
    "Totals",
    "Trade",
    "apply_offsets",
    "budget_alarms",
    "carbon_factors",
    "carbon_figures",
    "carbon_response",
    "dual_control",
    "emissions",
    "energy_balance",
    "energy_tce",
    "green_by_day",
    "green_shares",
    "held_ranges",
    "indicators",
    "intensity",
    "match_trades",
    "parse_input",
    "period_of",
    "project_year_end",
    "reductions",
    "response_dict",
    "validate_instrument_csv",
    "validate_instrument_rows",
]
