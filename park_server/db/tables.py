"""Database tables (SQLModel). Schema changes go through Alembic (park_server/db/migrations).

Time stamps are epoch milliseconds (UTC) in BIGINT columns: the same on SQLite and PostgreSQL,
compact, and cheap to compare and bucket. Routes never return these objects; see schemas.py.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, LargeBinary, SmallInteger, Text
from sqlmodel import Field, SQLModel

QUALITY_CODES = {"good": 0, "uncertain": 1, "bad": 2}
QUALITY_NAMES = {v: k for k, v in QUALITY_CODES.items()}


class ParkRow(SQLModel, table=True):
    __tablename__ = "park"
    id: str = Field(primary_key=True, max_length=63)
    name: str
    name_zh: str = ""
    timezone: str = "Asia/Shanghai"
    config_json: str = Field(sa_column=Column(Text, nullable=False))
    updated_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class EnterpriseRow(SQLModel, table=True):
    __tablename__ = "enterprise"
    park_id: str = Field(primary_key=True, foreign_key="park.id", max_length=63)
    id: str = Field(primary_key=True, max_length=63)
    name: str
    industry: str = ""


class AssetRow(SQLModel, table=True):
    __tablename__ = "asset"
    park_id: str = Field(primary_key=True, foreign_key="park.id", max_length=63)
    id: str = Field(primary_key=True, max_length=63)
    kind: str = Field(max_length=32)
    name: str = ""
    params_json: str = Field(sa_column=Column(Text, nullable=False))


class MeterRow(SQLModel, table=True):
    __tablename__ = "meter"
    park_id: str = Field(primary_key=True, foreign_key="park.id", max_length=63)
    id: str = Field(primary_key=True, max_length=63)
    asset_id: str = Field(max_length=63)
    role: str = Field(max_length=32)  # grid | pv | wind | storage | load | flexible_load | weather
    #: primary meters count; check and sub-meters are compared with them, never summed
    duty: str = Field(default="primary", max_length=16)
    profile: str
    sign: int = 1
    enterprise_id: str | None = Field(default=None, max_length=63)
    quantities_json: str = Field(sa_column=Column(Text, nullable=False))
    description: str = ""


class GatewayRow(SQLModel, table=True):
    __tablename__ = "gateway"
    park_id: str = Field(primary_key=True, foreign_key="park.id", max_length=63)
    id: str = Field(primary_key=True, max_length=63)
    key_id: str = Field(unique=True, index=True, max_length=32)
    key_hash: str = Field(max_length=128)
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_seen_ms: int | None = Field(default=None, sa_column=Column(BigInteger))
    last_status_ms: int | None = Field(default=None, sa_column=Column(BigInteger))
    online: bool = False
    status_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    last_batch: int | None = Field(default=None, sa_column=Column(BigInteger))
    dropped_samples: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    rejected_samples: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    #: the gateway's broker password as Mosquitto's PBKDF2-SHA512 ``$7$`` hash (broker_auth)
    broker_password_hash: str | None = Field(default=None, max_length=200)
    #: the HMAC-SHA256 key the server signs this gateway's setpoints with (hex; the gateway
    #: file's ``uplink.setpoint_key``); None: setpoints go out unsigned
    setpoint_key: str | None = Field(default=None, max_length=64)
    #: the gateway's clock minus the server's [s] (newest sample of its newest batch against the
    #: receipt time), and when it was measured [epoch ms]
    clock_offset_s: float | None = None
    clock_checked_ms: int | None = Field(default=None, sa_column=Column(BigInteger))


class Measurement(SQLModel, table=True):
    __tablename__ = "measurement"
    park_id: str = Field(primary_key=True, max_length=63)
    meter_id: str = Field(primary_key=True, max_length=63)
    quantity: str = Field(primary_key=True, max_length=32)
    ts_ms: int = Field(sa_column=Column(BigInteger, primary_key=True))
    value: float
    quality: int = Field(default=0, sa_column=Column(SmallInteger, nullable=False))
    received_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class LatestSample(SQLModel, table=True):
    """The newest sample that is not ``bad`` of each meter and quantity, kept by ingest, so that
    live values are one indexed read (not a scan of the raw table)."""

    __tablename__ = "latest_sample"
    park_id: str = Field(primary_key=True, max_length=63)
    meter_id: str = Field(primary_key=True, max_length=63)
    quantity: str = Field(primary_key=True, max_length=32)
    ts_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    value: float
    quality: int = Field(sa_column=Column(SmallInteger, nullable=False))


class Rollup(SQLModel, table=True):
    """Per meter, quantity and interval: mean/min/max of power-like values, energy of counters."""

    __tablename__ = "rollup"
    park_id: str = Field(primary_key=True, max_length=63)
    meter_id: str = Field(primary_key=True, max_length=63)
    quantity: str = Field(primary_key=True, max_length=32)
    resolution: str = Field(primary_key=True, max_length=8)  # 15min | 1h | 1d
    ts_ms: int = Field(sa_column=Column(BigInteger, primary_key=True))
    value: float  # interval mean, or for counters the energy in the interval
    min: float | None = None
    max: float | None = None
    count: int = 0
    energy_kwh: float | None = None  # for active_power_kw: mean × covered hours of the interval
    #: active_power_kw: the part of the interval its samples cover (docs/rollups.md) [ms]
    covered_ms: int | None = Field(default=None, sa_column=Column(BigInteger))
    #: counters: decreases that were not resets, flagged uncertain and never counted as energy
    suspect_decreases: int = 0
    #: angles (wind_direction_deg): mean resultant length of the unit vectors, 0 ... 1
    resultant: float | None = None


class CarbonEpoch(SQLModel, table=True):
    """A random token per park, renewed by the rollup refresh whenever it rewrites an interval of
    a closed month: the closed months' carbon totals cached in memory hold only under the token
    they were computed under (park_server.timeseries.carbon_cache)."""

    __tablename__ = "carbon_epoch"
    park_id: str = Field(primary_key=True, max_length=63)
    token: str = Field(max_length=32)


class RollupDirty(SQLModel, table=True):
    """Buckets (15 min) whose rollups must be recomputed because raw rows arrived for them."""

    __tablename__ = "rollup_dirty"
    park_id: str = Field(primary_key=True, max_length=63)
    meter_id: str = Field(primary_key=True, max_length=63)
    quantity: str = Field(primary_key=True, max_length=32)
    bucket_ms: int = Field(sa_column=Column(BigInteger, primary_key=True))
    #: a new random token at every mark; a rollup deletes the mark only if the token is still
    #: the one it read, so a mark set while the bucket is being rolled up survives
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class ForecastRow(SQLModel, table=True):
    __tablename__ = "forecast"
    __table_args__ = (Index("ix_forecast_park_target_issued", "park_id", "target", "issued_ms"),)
    id: int | None = Field(default=None, primary_key=True)
    park_id: str = Field(max_length=63)
    target: str = Field(max_length=16)
    issued_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    model: str = ""
    meta_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    values_json: str = Field(sa_column=Column(Text, nullable=False))


class WeatherForecastRow(SQLModel, table=True):
    """The newest forecast value of one weather variable for one time (see park_server.ingest.weather)."""

    __tablename__ = "weather_forecast"
    park_id: str = Field(primary_key=True, max_length=63)
    variable: str = Field(primary_key=True, max_length=16)
    valid_ms: int = Field(sa_column=Column(BigInteger, primary_key=True))
    value: float
    issued_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    received_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class PlanRow(SQLModel, table=True):
    __tablename__ = "dispatch_plan"
    __table_args__ = (Index("ix_plan_park_created", "park_id", "created_ms"),)
    id: int | None = Field(default=None, primary_key=True)
    park_id: str = Field(max_length=63)
    kind: str = Field(max_length=16)  # day_ahead | rolling
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    start_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    end_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    plan_json: str = Field(sa_column=Column(Text, nullable=False))


class ReportRow(SQLModel, table=True):
    __tablename__ = "report"
    id: int | None = Field(default=None, primary_key=True)
    park_id: str = Field(max_length=63)
    month: str = Field(max_length=7)
    format: str = Field(max_length=8)
    lang: str = Field(default="zh", max_length=4)
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class UserRow(SQLModel, table=True):
    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=64)
    role: str = Field(max_length=16)  # admin | manager | viewer
    parks_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    password_hash: str
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class EventRow(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (Index("ix_event_park_open", "park_id", "closed_ms"),)
    id: int | None = Field(default=None, primary_key=True)
    park_id: str = Field(max_length=63)
    kind: str = Field(
        max_length=32
    )  # gateway_offline | meter_stale | data_gap | buffer_drops | ...
    subject: str = Field(max_length=63)
    severity: str = Field(default="warning", max_length=16)
    message: str = Field(sa_column=Column(Text, nullable=False))
    opened_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    closed_ms: int | None = Field(default=None, sa_column=Column(BigInteger))
    #: who acknowledged the alarm in the console or API, and when (it stays open until it clears)
    acknowledged_ms: int | None = Field(default=None, sa_column=Column(BigInteger))
    acknowledged_by: str | None = Field(default=None, max_length=64)


class RejectedSample(SQLModel, table=True):
    """A sample refused at ingest, kept with its reason so that nothing is dropped silently."""

    __tablename__ = "rejected_sample"
    __table_args__ = (Index("ix_rejected_park_received", "park_id", "received_ms"),)
    id: int | None = Field(default=None, primary_key=True)
    park_id: str = Field(max_length=63)
    gateway_id: str = Field(max_length=63)
    batch: int | None = Field(default=None, sa_column=Column(BigInteger))
    index: int
    reason: str = Field(sa_column=Column(Text, nullable=False))
    sample_json: str = Field(sa_column=Column(Text, nullable=False))
    received_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


# ---- carbon and green power (issue #16, DESIGN.md §10) ------------------------------------------
# Scope columns name an enterprise, or "" for the park itself (a primary key can not be NULL).


class CarbonInstrumentRow(SQLModel, table=True):
    """A green instrument held for a month: GECs (``kind`` gec) or a green-power trade (trade),
    with the serial range of its certificates (a trade's bundled ones, if any)."""

    __tablename__ = "carbon_instrument"
    __table_args__ = (Index("ix_carbon_instrument_park_month", "park_id", "month"),)
    id: int | None = Field(default=None, primary_key=True)
    park_id: str = Field(max_length=63)
    enterprise_id: str = Field(default="", max_length=63)
    kind: str = Field(max_length=8)  # gec | trade
    serial_prefix: str | None = Field(default=None, max_length=63)
    serial_first: int | None = Field(default=None, sa_column=Column(BigInteger))
    serial_last: int | None = Field(default=None, sa_column=Column(BigInteger))
    serial_digits: int = 0
    mwh: float
    technology: str = Field(max_length=16)
    project: str = Field(sa_column=Column(Text, nullable=False))
    vintage: str = Field(max_length=7)
    month: str = Field(max_length=7)
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_by: str = Field(default="", max_length=64)


class TradeProfileRow(SQLModel, table=True):
    """A green-power trade's delivery per 15-minute interval (interval start) [kWh]."""

    __tablename__ = "carbon_trade_profile"
    instrument_id: int = Field(primary_key=True, foreign_key="carbon_instrument.id")
    ts_ms: int = Field(sa_column=Column(BigInteger, primary_key=True))
    kwh: float


class CarbonBudgetRow(SQLModel, table=True):
    """Dual-control budget and intensity targets of the park or an enterprise for a year."""

    __tablename__ = "carbon_budget"
    park_id: str = Field(primary_key=True, max_length=63)
    year: int = Field(primary_key=True)
    enterprise_id: str = Field(primary_key=True, max_length=63)
    carbon_t: float | None = None
    energy_tce: float | None = None
    t_co2_per_t_product: float | None = None
    t_co2_per_10k_yuan: float | None = None
    updated_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_by: str = Field(default="", max_length=64)


class CarbonMonthlyRow(SQLModel, table=True):
    """What a manager enters per month for an enterprise or the park: production, output value,
    fuels, measured anode consumption, and totals recorded outside zcpark (months before its
    meters ran), which replace the computed ones in year-to-date figures and projections."""

    __tablename__ = "carbon_monthly"
    park_id: str = Field(primary_key=True, max_length=63)
    month: str = Field(primary_key=True, max_length=7)
    enterprise_id: str = Field(primary_key=True, max_length=63)
    production_t: float = 0.0
    output_10k_yuan: float = 0.0
    coal_t: float = 0.0
    natural_gas_m3: float = 0.0
    diesel_t: float = 0.0
    purchased_heat_gj: float = 0.0
    anode_net_consumption_tc_per_t_al: float | None = None
    recorded_carbon_t: float | None = None
    recorded_energy_tce: float | None = None
    updated_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_by: str = Field(default="", max_length=64)


class CarbonGuideRow(SQLModel, table=True):
    """The zero-carbon park guide indicators no meter measures, entered per month [0..1]."""

    __tablename__ = "carbon_guide"
    park_id: str = Field(primary_key=True, max_length=63)
    month: str = Field(primary_key=True, max_length=7)
    solid_waste_utilisation: float | None = None
    waste_heat_utilisation: float | None = None
    water_reuse: float | None = None
    updated_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class CarbonOffsetRow(SQLModel, table=True):
    """A carbon-sink or CCER credit held by the park or an enterprise (kept apart from totals)."""

    __tablename__ = "carbon_offset"
    id: int | None = Field(default=None, primary_key=True)
    park_id: str = Field(max_length=63, index=True)
    enterprise_id: str = Field(default="", max_length=63)
    kind: str = Field(max_length=8)  # ccer | sink
    project: str = Field(sa_column=Column(Text, nullable=False))
    vintage: int
    t_co2e: float
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_by: str = Field(default="", max_length=64)


class ReportRevisionRow(SQLModel, table=True):
    """One issued revision of a park's monthly report (issue #12). Never updated once written:
    the report model as JSON is what was issued; a new revision is a new row."""

    __tablename__ = "report_revision"
    __table_args__ = (Index("ux_report_revision", "park_id", "month", "revision", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    park_id: str = Field(max_length=63)
    month: str = Field(max_length=7)
    revision: int
    #: SHA-256 of the canonical JSON of the report's inputs (park_server.reports.digest)
    sha256: str = Field(max_length=64)
    factors_version: str = Field(max_length=64)
    generated_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    #: who asked: "scheduler", "cli" or a user name
    generated_by: str = Field(default="", max_length=64)
    #: the report model (park_server.reports.model.to_json), figures and labels as issued
    model_json: str = Field(sa_column=Column(Text, nullable=False))
    #: figures changed since the revision before: [{"figure", "before", "after"}]
    changes_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))


class ReportFileRow(SQLModel, table=True):
    """A rendering of an issued revision (html | pdf | xlsx, zh | en), made on first request
    and served unchanged from then on."""

    __tablename__ = "report_file"
    park_id: str = Field(primary_key=True, max_length=63)
    month: str = Field(primary_key=True, max_length=7)
    revision: int = Field(primary_key=True)
    format: str = Field(primary_key=True, max_length=8)
    lang: str = Field(primary_key=True, max_length=4)
    sha256: str = Field(max_length=64)
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
