"""Park files (config/parks/*.yaml): location, grid connection, tariff, tenants, assets, meters."""

from __future__ import annotations

from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Discriminator, Field, Tag, model_validator

from config.base import Frozen, Slug, field_error, register_tags
from config.redact import redact
from config.tariff import Tariff


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone such as 'Asia/Shanghai'") from None
    return name


TimeZoneName = Annotated[str, AfterValidator(check_timezone)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class Location(Frozen):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    altitude_m: float = 0.0


class GridConnection(Frozen):
    id: Slug = "grid"
    import_limit_kw: float = Field(gt=0)
    export_limit_kw: float = Field(0.0, ge=0)
    anti_reverse_flow: bool = True
    voltage_kv: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.anti_reverse_flow and self.export_limit_kw > 0:
            raise field_error(
                "export_limit_kw", "must be 0 when anti_reverse_flow is true (no export allowed)"
            )
        return self


class EmissionFactorChoice(Frozen):
    """Which grid factor the park's carbon accounting uses (config/factors/grid_emission.yaml)."""

    region: str = "inner_mongolia"
    year: int = 2022
    method: Literal["location", "market"] = "location"
    #: region whose factor prices non-green power under market-based accounting
    market_region: str = "national_excluding_market_nonfossil"
    #: DOMAIN.md: green power supplied directly or by certificate counts as zero emission
    green_power_zero: bool = True


class Enterprise(Frozen):
    id: Slug
    name: str
    industry: str = ""
    meters: list[str] = []
    #: binding green-power share for the enterprise (e.g. electrolytic aluminium), 0..1
    green_share_target: Fraction | None = None
    carbon_budget_t_per_year: float | None = Field(None, gt=0)
    #: annual comprehensive energy consumption budget (dual control of energy), tce
    energy_budget_tce_per_year: float | None = Field(None, gt=0)


class _Asset(Frozen):
    id: Slug
    name: str = ""


class PvAsset(_Asset):
    kind: Literal["pv"]
    capacity_kw: float = Field(gt=0)  # AC
    capacity_dc_kw: float | None = Field(None, gt=0)
    tilt_deg: float = Field(30.0, ge=0, le=90)
    azimuth_deg: float = Field(180.0, ge=0, lt=360)
    curtailable: bool = True


class PowerCurve(Frozen):
    wind_speed_ms: list[float] = Field(min_length=2)
    power_kw: list[float] = Field(min_length=2)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if len(self.wind_speed_ms) != len(self.power_kw):
            raise field_error(
                "power_kw",
                f"has {len(self.power_kw)} values but wind_speed_ms has {len(self.wind_speed_ms)}",
            )
        for i, (a, b) in enumerate(zip(self.wind_speed_ms, self.wind_speed_ms[1:], strict=False)):
            if b <= a:
                raise field_error(f"wind_speed_ms[{i + 1}]", "speeds must increase strictly")
        for i, p in enumerate(self.power_kw):
            if p < 0:
                raise field_error(f"power_kw[{i}]", "must not be negative")
        return self


class WindAsset(_Asset):
    kind: Literal["wind"]
    turbines: int = Field(ge=1)
    turbine_rated_kw: float = Field(gt=0)
    hub_height_m: float = Field(90.0, gt=0)
    power_curve: PowerCurve
    curtailable: bool = True

    @property
    def capacity_kw(self) -> float:
        return self.turbines * self.turbine_rated_kw

    @model_validator(mode="after")
    def _check(self) -> Self:
        peak = max(self.power_curve.power_kw)
        if peak > self.turbine_rated_kw * 1.1:
            raise field_error(
                "power_curve.power_kw",
                f"peak {peak} kW exceeds turbine_rated_kw {self.turbine_rated_kw} by over 10 %",
            )
        return self


class StorageAsset(_Asset):
    kind: Literal["storage"]
    energy_kwh: float = Field(gt=0)
    power_kw: float = Field(gt=0)
    charge_efficiency: float = Field(0.95, gt=0, le=1)
    discharge_efficiency: float = Field(0.95, gt=0, le=1)
    soc_min: Fraction = 0.1
    soc_max: Fraction = 0.9
    soc_initial: Fraction = 0.5
    soc_final_min: Fraction = 0.5

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.soc_min >= self.soc_max:
            raise field_error(
                "soc_min", f"must be below soc_max ({self.soc_min} >= {self.soc_max})"
            )
        for name in ("soc_initial", "soc_final_min"):
            v = getattr(self, name)
            if not self.soc_min <= v <= self.soc_max:
                raise field_error(name, f"{v} is outside [soc_min, soc_max]")
        return self


class LoadAsset(_Asset):
    kind: Literal["load"]
    nominal_kw: float = Field(gt=0)


class FlexibleLoadAsset(_Asset):
    kind: Literal["flexible_load"]
    type: Literal["potline", "electrolyser", "other"] = "other"
    min_kw: float = Field(ge=0)
    max_kw: float = Field(gt=0)
    ramp_kw_per_interval: float = Field(gt=0)  # per 15-minute interval
    daily_energy_kwh: float | None = Field(None, gt=0)
    #: aluminium potlines: production per day and specific energy, for carbon intensity per tonne
    production_t_per_day: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.min_kw > self.max_kw:
            raise field_error("min_kw", f"must not exceed max_kw ({self.min_kw} > {self.max_kw})")
        if self.daily_energy_kwh is not None:
            low, high = self.min_kw * 24, self.max_kw * 24
            if not low <= self.daily_energy_kwh <= high:
                raise field_error(
                    "daily_energy_kwh",
                    f"{self.daily_energy_kwh} cannot be met between min_kw and max_kw "
                    f"over 24 h ({low:g}..{high:g} kWh)",
                )
        return self


class WeatherStation(_Asset):
    kind: Literal["weather"]


class DirectGreenAsset(_Asset):
    """Green power over a dedicated line from a named plant outside the park (直供绿电): its
    meter reads + when the plant delivers (DESIGN.md §2, like a generation meter)."""

    kind: Literal["direct_green"]
    #: the plant at the other end of the line
    plant: str = Field(min_length=1)
    capacity_kw: float = Field(gt=0)


register_tags("pv", "wind", "storage", "load", "flexible_load", "weather", "direct_green")

Asset = Annotated[
    PvAsset
    | WindAsset
    | StorageAsset
    | LoadAsset
    | FlexibleLoadAsset
    | WeatherStation
    | DirectGreenAsset,
    Field(discriminator="kind"),
]


register_tags("tariff-name", "tariff-inline", private=True)

#: A tariff is named (config/factors/tariffs.yaml) or written out in the park file.
TariffRef = Annotated[
    Annotated[str, Tag("tariff-name")] | Annotated[Tariff, Tag("tariff-inline")],
    Discriminator(lambda v: "tariff-name" if isinstance(v, str) else "tariff-inline"),
]


#: What a weather forecast may carry, in these units: global horizontal irradiance [W/m2], air
#: temperature [degC], wind speed at hub height [m/s]; "time" names the valid-time column.
WEATHER_VARIABLES = {"ghi": (0.0, 1500.0), "temp_air": (-60.0, 60.0), "wind_speed": (0.0, 75.0)}


class WeatherForecastSource(Frozen):
    """Where the park's weather forecasts come from (docs/forecasting.md): a CSV file or HTTP(S)
    URL read every ``every_minutes``, or JSON messages on an MQTT topic of the server's broker."""

    source: Literal["file", "http", "mqtt"]
    url: str | None = None
    topic: str | None = None
    every_minutes: int = Field(60, ge=1, le=1440)
    #: our name -> the provider's column (or JSON key); unnamed ones are taken as they are
    columns: dict[str, str] = {}

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.source in ("file", "http") and not self.url:
            raise field_error("url", f"a {self.source} source needs url")
        if self.source == "http" and not (self.url or "").startswith(("http://", "https://")):
            raise field_error("url", "an http source needs an http:// or https:// URL")
        if self.source == "mqtt" and not self.topic:
            raise field_error("topic", "an mqtt source needs topic")
        if self.topic and any(c in self.topic for c in "+#"):
            raise field_error("topic", "must be one topic, without wildcards")
        for key in self.columns:
            if key != "time" and key not in WEATHER_VARIABLES:
                raise field_error(
                    f"columns.{key}",
                    f"unknown variable (known: time, {', '.join(WEATHER_VARIABLES)})",
                )
        return self

    def column(self, name: str) -> str:
        return self.columns.get(name, name)

    def describe(self) -> str:
        # shown in logs and the API: a key in the URL's query or a password is masked
        return f"{self.source} {self.topic if self.source == 'mqtt' else redact(self.url or '')}"


class Meter(Frozen):
    id: Slug
    asset: str
    profile: str
    #: -1 when the meter is installed the other way round from DESIGN.md §2's convention
    sign: Literal[1, -1] = 1
    #: primary: the fiscal meter of its asset, the one that counts; check: a second meter of the
    #: same flow (e.g. a rectifier's AC side), compared with the primary, never summed; sub: a
    #: meter of part of the asset's flow, shown but never summed
    duty: Literal["primary", "check", "sub"] = "primary"
    #: a check meter may differ from its primary by this much (a rectifier's losses) before an alarm
    check_tolerance_pct: float = Field(5.0, gt=0, le=100)
    #: where the meter's energy counters wrap back to zero [kWh] (e.g. 99,999,999.9 on an
    #: 8-digit register), so a wrap adds what was counted up to it; None: a drop to near zero is a
    #: reset and counts the new reading
    counter_rollover_kwh: float | None = Field(None, gt=0)
    #: nominal voltage at the measuring point [kV]: line-to-line for AC, pole-to-pole for DC
    #: (e.g. 35 for a PV collector, 220 for a rectifier transformer's HV side); unset: the grid
    #: connection's voltage_kv for a grid meter, else the usual level for the flow's size
    voltage_kv: float | None = Field(None, gt=0)
    #: ac (three-phase) or dc (e.g. a potline rectifier's DC bus)
    circuit: Literal["ac", "dc"] = "ac"
    description: str = ""


class Park(Frozen):
    id: Slug
    name: str
    name_zh: str = ""
    #: the league (盟) or city the park belongs to, for the regional overview (e.g. "Tongliao")
    league: str = ""
    timezone: TimeZoneName = "Asia/Shanghai"
    location: Location
    grid: GridConnection
    tariff: TariffRef
    emission_factor: EmissionFactorChoice = EmissionFactorChoice()
    carbon_budget_t_per_year: float | None = Field(None, gt=0)
    #: annual comprehensive energy consumption budget (dual control of energy), tce
    energy_budget_tce_per_year: float | None = Field(None, gt=0)
    #: park-level green-power target (volumetric share), 0..1
    green_share_target: Fraction | None = None
    enterprises: list[Enterprise] = []
    #: public holidays and make-up working days for the load forecasts (config/factors/holidays.yaml)
    holiday_calendar: str = "cn"
    weather_forecast: WeatherForecastSource | None = None
    assets: list[Asset] = Field(min_length=1)
    meters: list[Meter] = []

    def asset(self, asset_id: str) -> Asset:
        for a in self.assets:
            if a.id == asset_id:
                return a
        raise KeyError(asset_id)

    def meter(self, meter_id: str) -> Meter:
        for m in self.meters:
            if m.id == meter_id:
                return m
        raise KeyError(meter_id)

    def meter_role(self, meter: Meter) -> str:
        """'grid', or the kind of the asset the meter measures."""
        if meter.asset == self.grid.id:
            return "grid"
        return self.asset(meter.asset).kind

    def counts(self, meter: Meter) -> bool:
        """Whether the meter's energy counts in sums (the primary meter of its asset)."""
        return meter.duty == "primary"

    def primary_meter(self, asset_id: str) -> Meter | None:
        """The primary meter of an asset (or of the grid connection), None when it has none."""
        for m in self.meters:
            if m.asset == asset_id and m.duty == "primary":
                return m
        return None

    def assets_of(self, kind: str) -> list[Asset]:
        return [a for a in self.assets if a.kind == kind]

    @property
    def storage(self) -> list[StorageAsset]:
        return [a for a in self.assets if isinstance(a, StorageAsset)]

    @property
    def flexible_loads(self) -> list[FlexibleLoadAsset]:
        return [a for a in self.assets if isinstance(a, FlexibleLoadAsset)]

    @property
    def loads(self) -> list[LoadAsset]:
        return [a for a in self.assets if isinstance(a, LoadAsset)]

    @property
    def renewables(self) -> list[PvAsset | WindAsset]:
        return [a for a in self.assets if isinstance(a, PvAsset | WindAsset)]

    @model_validator(mode="after")
    def _check(self) -> Self:
        ids: dict[str, str] = {self.grid.id: "grid.id"}
        for i, a in enumerate(self.assets):
            if a.id in ids:
                raise field_error(f"assets[{i}].id", f"{a.id!r} is already used by {ids[a.id]}")
            ids[a.id] = f"assets[{i}]"
        meters: dict[str, int] = {}
        for i, m in enumerate(self.meters):
            if m.id in meters:
                raise field_error(f"meters[{i}].id", f"meter {m.id!r} is defined twice")
            meters[m.id] = i
            if m.asset not in ids:
                raise field_error(
                    f"meters[{i}].asset",
                    f"no asset {m.asset!r} (assets: {', '.join(sorted(ids))})",
                )
        primary: dict[str, str] = {}
        for i, m in enumerate(self.meters):
            measures_flow = m.asset == self.grid.id or self.asset(m.asset).kind != "weather"
            if m.duty != "primary" or not measures_flow:
                continue
            if m.asset in primary:
                raise field_error(
                    f"meters[{i}].duty",
                    f"asset {m.asset!r} has a primary meter already ({primary[m.asset]!r}): "
                    "mark this one duty: check or duty: sub",
                )
            primary[m.asset] = m.id
        for i, m in enumerate(self.meters):
            if m.duty == "check" and m.asset not in primary:
                raise field_error(
                    f"meters[{i}].duty",
                    f"check meter {m.id!r} has no primary meter on asset {m.asset!r} to compare with",
                )
        owner: dict[str, str] = {}
        for i, e in enumerate(self.enterprises):
            for j, mid in enumerate(e.meters):
                if mid not in meters:
                    raise field_error(f"enterprises[{i}].meters[{j}]", f"no meter {mid!r}")
                if mid in owner:
                    raise field_error(
                        f"enterprises[{i}].meters[{j}]",
                        f"meter {mid!r} already belongs to enterprise {owner[mid]!r}",
                    )
                owner[mid] = e.id
        return self
