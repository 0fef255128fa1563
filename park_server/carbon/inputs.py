"""Typed inputs of the carbon accounting: park settings, meters, monthly entries, budgets.

Everything a manager enters (production, output value, fuels, guide indicators, budgets and
targets) and every park setting the accounting needs arrives as one of these frozen models.
Values are checked when the model is built; :func:`park_server.carbon.errors.parse_input`
turns a refusal into a :class:`~park_server.carbon.errors.CarbonInputError` naming the field.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

#: Interval length of the accounting [h] (DESIGN.md §2: the standard interval is 15 minutes).
INTERVAL_H = 0.25
INTERVAL = "15min"

#: Meter roles the balance understands. ``direct_green``: a dedicated line from a named plant.
Role = Literal["grid", "pv", "wind", "direct_green", "storage", "load", "flexible_load"]
SUPPLY_ROLES = ("grid", "pv", "wind", "direct_green", "storage")
LOAD_ROLES = ("load", "flexible_load")

NonNegative = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Positive = Annotated[float, Field(gt=0)]

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_month(value: str) -> str:
    if not _MONTH.match(value):
        raise ValueError(f"{value!r} is not a month YYYY-MM")
    return value


Month = Annotated[str, AfterValidator(check_month)]


class Input(BaseModel):
    """Base of every input model: immutable, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class MeterSpec(Input):
    """A meter as the accounting sees it. Signs of its energy follow DESIGN.md §2."""

    id: str = Field(min_length=1)
    role: Role
    #: owner of a load meter; supply meters (grid, pv, wind, direct_green, storage) are the park's
    enterprise: str | None = None
    #: a check meter or sub-meter is compared, never summed (DESIGN.md §10)
    primary: bool = True


class StorageState(Input):
    """What the park's storage holds, by the green-share account (docs/carbon.md).

    ``stored_kwh`` is the energy inside the cells (after charge losses); ``green_fraction`` the
    share of it that is green, ``onsite_fraction`` the share that came from on-site PV and wind.
    """

    stored_kwh: NonNegative = 0.0
    green_fraction: Fraction = 0.0
    onsite_fraction: Fraction = 0.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.onsite_fraction > self.green_fraction:
            raise ValueError("onsite_fraction must not exceed green_fraction")
        return self


class EnterpriseSettings(Input):
    id: str = Field(min_length=1)
    #: binding green-power share (volumetric), e.g. electrolytic aluminium (NDRC 2025 No. 669)
    green_share_target: Fraction | None = None
    #: fixed share of on-site green power by contract, used when sharing == "fixed"
    fixed_share: Fraction | None = None


class CarbonSettings(Input):
    """The park settings the carbon accounting uses (mapped from the park file)."""

    park: str = Field(min_length=1)
    timezone: str = "Asia/Shanghai"
    #: location-based factor: region and year of config/factors/grid_emission.yaml
    grid_region: str = "inner_mongolia"
    grid_year: int = 2022
    #: market-based (residual) factor: region (same year)
    market_region: str = "national_excluding_market_nonfossil"
    #: electricity CO2 in the core indicator, dual control and intensity per 10^4 yuan
    electricity_method: Literal["location", "market"] = "market"
    green_share_target: Fraction | None = None
    enterprises: tuple[EnterpriseSettings, ...] = ()
    #: how on-site green power is shared between enterprises in each interval
    sharing: Literal["pro_rata", "fixed"] = "pro_rata"
    charge_efficiency: float = Field(0.95, gt=0, le=1)
    discharge_efficiency: float = Field(0.95, gt=0, le=1)
    storage_initial: StorageState = StorageState()

    @model_validator(mode="after")
    def _check(self) -> Self:
        ids = [e.id for e in self.enterprises]
        for i, e in enumerate(ids):
            if e in ids[:i]:
                raise ValueError(f"enterprises[{i}].id: {e!r} is listed twice")
        if self.sharing == "fixed":
            missing = [e.id for e in self.enterprises if e.fixed_share is None]
            if missing:
                raise ValueError(f"sharing 'fixed' needs fixed_share for {', '.join(missing)}")
            total = sum(e.fixed_share or 0.0 for e in self.enterprises)
            if total > 1 + 1e-9:
                raise ValueError(f"fixed shares add up to {total:g}, more than 1")
        return self

    def enterprise(self, enterprise_id: str) -> EnterpriseSettings:
        for e in self.enterprises:
            if e.id == enterprise_id:
                return e
        raise KeyError(enterprise_id)

    @property
    def enterprise_ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.enterprises)


class Fuels(Input):
    """Fuels burnt in a month (metered where a counter exists, else entered)."""

    coal_t: NonNegative = 0.0
    natural_gas_m3: NonNegative = 0.0
    diesel_t: NonNegative = 0.0
    purchased_heat_gj: NonNegative = 0.0


class MonthlyInputs(Input):
    """What a manager enters per enterprise (or for the park itself, ``enterprise=None``) and month."""

    month: Month
    enterprise: str | None = None
    production_t: NonNegative = 0.0
    output_10k_yuan: NonNegative = 0.0
    fuels: Fuels = Fuels()
    #: measured net anode consumption; the CETS default from config/factors where not given
    anode_net_consumption_tc_per_t_al: Positive | None = None


class GuideIndicators(Input):
    """The zero-carbon park guide indicators no meter measures (NDRC 2025 No. 910), per month."""

    month: Month
    solid_waste_utilisation: Fraction | None = None
    waste_heat_utilisation: Fraction | None = None
    water_reuse: Fraction | None = None


class Budget(Input):
    """Annual dual-control budget and intensity targets of the park or one enterprise."""

    year: int = Field(ge=2000, le=2100)
    enterprise: str | None = None
    carbon_t: Positive | None = None
    energy_tce: Positive | None = None
    t_co2_per_t_product: Positive | None = None
    t_co2_per_10k_yuan: Positive | None = None


class Totals(Input):
    """Dual-control totals of a stretch of time (the year before the period, for instance)."""

    carbon_t: NonNegative = 0.0
    energy_tce: NonNegative = 0.0
    production_t: NonNegative = 0.0
    output_10k_yuan: NonNegative = 0.0


class MonthTotals(Input):
    """Last year's figures of one month, for the projection's seasonal daily rate."""

    month: Month
    carbon_t: NonNegative
    energy_tce: NonNegative
    #: a month with data missing is not used as a rate (the projection says what it used)
    complete: bool = True


class DispatchKpis(Input):
    """The §8 plan kpis (one plan, or its rule-based baseline) that reductions need."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    co2_kg: NonNegative
    grid_import_kwh: NonNegative = 0.0
    consumption_kwh: NonNegative = 0.0


class PlanOutcome(Input):
    """One plan in force and its baseline (DESIGN.md §8 ``kpis`` and ``baseline_kpis``)."""

    kpis: DispatchKpis
    baseline_kpis: DispatchKpis
