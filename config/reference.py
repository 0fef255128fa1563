"""The configuration reference (docs/configuration.md), generated from the pydantic models.

Every field of the park, gateway and device-profile models and every environment variable of the
server's settings, with its type, unit, default and description. Descriptions come from the
field's ``#:`` comment (or its comment on the same line) in the model's source; the few fields
without one take theirs from :data:`EXTRA`, and a field with neither makes :func:`render` fail,
so that a new field cannot go undocumented. Units come from the description's ``[unit]`` or the
name's unit suffix (DESIGN.md §2).

The file's hand-written introduction, between :data:`BEGIN_HAND` and :data:`END_HAND`, is kept as
it is; everything after it is generated. Regenerate with ``zcpark docs config``
(zcpark/docs.py, which hands in the server's Settings model: config imports nothing of the
server); tests/config/test_reference.py fails when the file is stale.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
import types
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "configuration.md"
SETTINGS_SOURCE = ROOT / "park_server" / "settings.py"

BEGIN_HAND = "<!-- hand-written: kept as it is by config/reference.py -->"
END_HAND = (
    "<!-- generated below by config/reference.py from the pydantic models: do not edit by hand, "
    "run `zcpark docs config` -->"
)

#: Descriptions of fields whose model source has no comment for them ("Model.field" -> text).
EXTRA: dict[str, str] = {
    # park files
    "Park.id": "slug used in MQTT topics and URLs; by convention the file name",
    "Park.name": "display name",
    "Park.name_zh": "display name in Chinese",
    "Park.timezone": "IANA zone: days, months, tariffs, holidays and reports use it",
    "Park.location": "where the park is (solar position, clear sky)",
    "Park.grid": "the connection point to the public grid",
    "Park.tariff": "the name of a tariff in config/factors/tariffs.yaml, or a tariff written out",
    "Park.emission_factor": "which grid emission factor the carbon accounting uses",
    "Park.carbon_budget_t_per_year": "annual carbon budget [t CO2]",
    "Park.enterprises": "the park's tenants; each meter belongs to at most one",
    "Park.weather_forecast": "where weather forecasts come from (docs/forecasting.md); none: "
    "the forecasts use measured weather and clear sky only",
    "Park.assets": "the park's plant, each with a kind (one section per kind below)",
    "Park.meters": "the park's meters; each measures one asset or the grid connection",
    "Location.lat": "latitude [deg], north positive",
    "Location.lon": "longitude [deg], east positive",
    "Location.altitude_m": "altitude above sea level",
    "GridConnection.id": "the id that grid meters name as their asset",
    "GridConnection.import_limit_kw": "the most the park may import",
    "GridConnection.export_limit_kw": "the most the park may export",
    "GridConnection.anti_reverse_flow": "no export at all (forces export_limit_kw: 0)",
    "GridConnection.voltage_kv": "nominal voltage of the connection (line-to-line)",
    "EmissionFactorChoice.region": "region of config/factors/grid_emission.yaml",
    "EmissionFactorChoice.year": "year of the factor in that table",
    "EmissionFactorChoice.method": "location-based or market-based accounting of grid power",
    "Enterprise.id": "the enterprise's slug",
    "Enterprise.name": "display name",
    "Enterprise.industry": "e.g. electrolytic aluminium",
    "Enterprise.meters": "ids of the park's meters that are this enterprise's",
    "Enterprise.carbon_budget_t_per_year": "annual carbon budget [t CO2]",
    "Tariff.name": "the tariff's name (the key in config/factors/tariffs.yaml)",
    "Tariff.currency": "currency of every price",
    "Tariff.source": "the notice the prices come from",
    "Tariff.confidence": "H, M or L as in DOMAIN.md",
    "Tariff.export_price_per_kwh": "price paid for exported energy [currency/kWh]",
    "Tariff.periods": "time-of-use periods; together they cover each minute of the day once",
    "TouPeriod.name": "e.g. peak, flat, valley",
    "TouPeriod.price_per_kwh": "energy price in this period [currency/kWh]",
    "TouPeriod.hours": 'local spans such as "08:00-12:00"; a span may wrap past midnight',
    "WeatherForecastSource.source": "file (CSV path), http (CSV from an http(s) URL) or mqtt",
    "WeatherForecastSource.url": "file path or http(s) URL (file and http sources)",
    "WeatherForecastSource.topic": "one MQTT topic of the server's broker, no wildcards",
    "WeatherForecastSource.every_minutes": "how often the source is read",
    "_Asset.id": "the asset's slug, unique in the park",
    "_Asset.name": "display name",
    "PvAsset.kind": "the asset kind",
    "PvAsset.capacity_dc_kw": "DC (module) capacity",
    "PvAsset.tilt_deg": "module tilt from horizontal",
    "PvAsset.azimuth_deg": "module azimuth, 180 = south",
    "PvAsset.curtailable": "the dispatcher may curtail it",
    "WindAsset.kind": "the asset kind",
    "WindAsset.turbines": "number of turbines",
    "WindAsset.turbine_rated_kw": "rated power of one turbine",
    "WindAsset.hub_height_m": "hub height",
    "WindAsset.power_curve": "one turbine's power curve",
    "WindAsset.curtailable": "the dispatcher may curtail it",
    "PowerCurve.wind_speed_ms": "wind speeds, strictly increasing [m/s]",
    "PowerCurve.power_kw": "one turbine's power at each speed [kW]",
    "StorageAsset.kind": "the asset kind",
    "StorageAsset.energy_kwh": "usable energy capacity",
    "StorageAsset.power_kw": "rated charge and discharge power",
    "StorageAsset.charge_efficiency": "one-way charge efficiency",
    "StorageAsset.discharge_efficiency": "one-way discharge efficiency",
    "StorageAsset.soc_min": "lowest state of charge the plan may reach (below soc_max)",
    "StorageAsset.soc_max": "highest state of charge the plan may reach",
    "StorageAsset.soc_initial": "state of charge assumed when none is measured",
    "StorageAsset.soc_final_min": "state of charge a plan must end with at least",
    "LoadAsset.kind": "the asset kind",
    "LoadAsset.nominal_kw": "nominal (inflexible) demand",
    "FlexibleLoadAsset.kind": "the asset kind",
    "FlexibleLoadAsset.type": "potline, electrolyser or other",
    "FlexibleLoadAsset.min_kw": "lowest power (not above max_kw)",
    "FlexibleLoadAsset.max_kw": "highest power",
    "FlexibleLoadAsset.daily_energy_kwh": "energy it must take each day (reachable between "
    "min_kw and max_kw over 24 h)",
    "WeatherStation.kind": "the asset kind (a weather station; its meters carry irradiance, "
    "temperature, wind)",
    "DirectGreenAsset.kind": "the asset kind",
    "DirectGreenAsset.capacity_kw": "capacity of the dedicated line's plant",
    "Meter.id": "the meter's slug, unique in the park",
    "Meter.asset": "the asset it measures, or the grid connection's id",
    "Meter.profile": "device profile name (config/devices/) or path",
    "Meter.description": "free text",
    # gateway files
    "Gateway.gateway": "the gateway's id (its MQTT topics: zcpark/v1/{park}/{gateway}/)",
    "Gateway.park": "the park it belongs to",
    "Gateway.uplink": "how it reaches the park server",
    "Gateway.buffer": "its durable sample buffer",
    "Gateway.buses": "the lines it reads devices on",
    "Gateway.devices": "the devices it reads, one per meter",
    "Uplink.mqtt": "broker URL, mqtt:// or mqtts://, with user:password of this gateway",
    "Uplink.batch_max_samples": "a batch is sent at this many samples…",
    "Uplink.batch_max_seconds": "…or this long after its first sample",
    "Uplink.client_id": "MQTT client id (default from the gateway's id)",
    "Uplink.keepalive_s": "MQTT keepalive",
    "Uplink.status_interval_s": "how often the retained status is published",
    "Buffer.path": "SQLite file, relative to the gateway file's directory",
    "Buffer.max_mb": "past this size the oldest samples are dropped, counted and reported",
    "_ModbusBus.name": "the bus's name, unique in the file",
    "_ModbusBus.timeout_s": "time allowed for an answer",
    "_ModbusBus.inter_request_delay_ms": "pause between requests on the line [ms]",
    "ModbusTcpBus.kind": "the bus kind",
    "ModbusTcpBus.host": "device or Modbus gateway host",
    "ModbusTcpBus.port": "TCP port",
    "ModbusRtuBus.kind": "the bus kind",
    "ModbusRtuBus.port": "serial device, e.g. /dev/ttyUSB0",
    "ModbusRtuBus.baudrate": "line speed [baud]",
    "ModbusRtuBus.parity": "N, E or O",
    "ModbusRtuBus.stopbits": "stop bits",
    "ModbusRtuBus.bytesize": "data bits",
    "MqttBus.kind": "the bus kind",
    "MqttBus.name": "the bus's name, unique in the file",
    "MqttBus.url": "the site broker's URL",
    "Device.meter": "the park's meter this device is",
    "Device.bus": "the bus it is on",
    "Device.unit_id": "Modbus unit id (Modbus devices)",
    "Device.profile": "device profile name or path (Modbus devices)",
    "Device.poll_interval_s": "how often it is read",
    "Device.host": "overrides the modbus_tcp bus's host",
    "Device.port": "overrides the modbus_tcp bus's port",
    "Device.topic": "the topic it publishes on (MQTT devices)",
    "Device.fields": "quantity -> JSON pointer into the message (MQTT devices)",
    "Device.timestamp_field": "JSON pointer to the sample time; arrival time otherwise",
    # device profiles
    "DeviceProfile.name": "must equal the file name without .yaml",
    "DeviceProfile.manufacturer": "the maker",
    "DeviceProfile.model": "the model",
    "DeviceProfile.word_order": "big: high word first; little: low word first",
    "DeviceProfile.notes": "free text",
    "DeviceProfile.points": "what is read; each quantity by at most one point",
    "DeviceProfile.setpoints": "what the dispatcher may write",
    "Point.quantity": "the canonical quantity it reads (DESIGN.md §2)",
    "Point.table": "holding or input registers",
    "Point.address": "0-based protocol address (decimal or 0x..)",
    "Point.type": "register type",
    "Point.scale": "value = raw × scale + offset",
    "Point.offset": "added after scaling",
    "Point.scale_factor": "a SunSpec scale-factor register: value = raw × 10^sf × scale + offset",
    "ScaleFactorRef.table": "table of the int16 scale-factor register",
    "ScaleFactorRef.address": "its address",
    "Setpoint.address": "holding register written",
    "Setpoint.type": "register type",
    "Setpoint.min": "lowest value accepted (in the quantity's unit)",
    "Setpoint.max": "highest value accepted (in the quantity's unit)",
    "Setpoint.safe_default": "written when no valid setpoint is in force (within min..max)",
    "Setpoint.enable": "a register written before the setpoint (e.g. control via communication)",
    "Setpoint.word_order": "overrides the profile's",
    "EnableWrite.address": "holding register written",
    "EnableWrite.type": "register type",
    "EnableWrite.value": "the value written",
    # server settings
    "Settings.database_url": "SQLAlchemy URL: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB",
    "Settings.secret_key": "signs the console's and API's tokens (at least 32 characters); "
    "required off SQLite, where a SQLite file gets one generated beside it",
    "Settings.token_minutes": "lifetime of a login token [min]",
    "Settings.parks_dir": "the park files the server offers to sync",
    "Settings.max_past_days": "how far in the past a sample's time stamp may lie [days]",
    "Settings.max_future_seconds": "how far in the future a sample's time stamp may lie [s]",
    "Settings.run_scheduler": "run the background jobs (false on instances that only ingest)",
}

#: Unit suffixes of names (DESIGN.md §2 and the configuration's own), longest first.
SUFFIX_UNITS: list[tuple[str, str]] = [
    ("_kw_per_interval", "kW per 15 min"),
    ("_t_per_year", "t CO2/year"),
    ("_tce_per_year", "tce/year"),
    ("_t_per_day", "t/day"),
    ("_per_kwh", "currency/kWh"),
    ("_per_minute_per_address", "per minute"),
    ("_per_minute", "per minute"),
    ("_kwh", "kWh"),
    ("_kvar", "kvar"),
    ("_kw", "kW"),
    ("_kv", "kV"),
    ("_wm2", "W/m²"),
    ("_pct", "%"),
    ("_hz", "Hz"),
    ("_deg", "°"),
    ("_mb", "MB"),
    ("_bytes", "bytes"),
    ("_minutes", "min"),
    ("_days", "days"),
    ("_m", "m"),
    ("_s", "s"),
    ("_v", "V"),
    ("_a", "A"),
    ("_c", "°C"),
    ("_t", "t"),
]


@dataclass(frozen=True)
class Row:
    key: str
    type: str
    unit: str
    default: str
    description: str


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    model: type[BaseModel]
    intro: str
    rows: list[Row]


# --- comments of the source -----------------------------------------------------------------


@cache
def _field_comments(cls: type) -> dict[str, str]:
    """name -> the ``#:`` comment above the field, or its comment on the same line."""
    module = sys.modules[cls.__module__]
    source = Path(module.__file__ or "").read_text(encoding="utf-8")
    lines = source.splitlines()
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string
    out: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.ClassDef) and node.name == cls.__name__):
            continue
        for stmt in node.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            above: list[str] = []
            row = stmt.lineno - 1
            while row >= 1 and lines[row - 1].strip().startswith("#:"):
                above.insert(0, lines[row - 1].strip()[2:].strip())
                row -= 1
            inline = [
                comments[r][1:].strip()
                for r in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
                if r in comments and not comments[r].startswith("# noqa")
            ]
            text = " ".join(above) if above else " ".join(inline)
            if text:
                out[stmt.target.id] = text
    return out


def _description(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    if info.description:
        return info.description
    for cls in model.__mro__:
        if name in getattr(cls, "__annotations__", {}):
            text = _field_comments(cls).get(name) or EXTRA.get(f"{cls.__name__}.{name}")
            if text:
                return text
    text = EXTRA.get(f"{model.__name__}.{name}")
    if text:
        return text
    raise ValueError(
        f"{model.__name__}.{name} has no description: give it a '#:' comment in "
        f"{model.__module__} (or an entry in config.reference.EXTRA)"
    )


# --- types, units, defaults -----------------------------------------------------------------


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _strip_annotated(tp: Any) -> tuple[Any, list[Any]]:
    meta: list[Any] = []
    while get_origin(tp) is typing.Annotated:
        tp, *more = get_args(tp)
        meta.extend(more)
    return tp, meta


def _constraints(meta: list[Any]) -> list[str]:
    out: list[str] = []
    for m in meta:
        if isinstance(m, FieldInfo):
            out.extend(_constraints(list(m.metadata)))
        elif isinstance(m, annotated_types.Gt):
            out.append(f"> {m.gt:g}" if isinstance(m.gt, int | float) else f"> {m.gt}")
        elif isinstance(m, annotated_types.Ge):
            out.append(f"≥ {m.ge:g}" if isinstance(m.ge, int | float) else f"≥ {m.ge}")
        elif isinstance(m, annotated_types.Lt):
            out.append(f"< {m.lt:g}" if isinstance(m.lt, int | float) else f"< {m.lt}")
        elif isinstance(m, annotated_types.Le):
            out.append(f"≤ {m.le:g}" if isinstance(m.le, int | float) else f"≤ {m.le}")
        elif isinstance(m, annotated_types.MinLen):
            out.append(f"at least {m.min_length}")
        elif isinstance(m, annotated_types.MaxLen):
            out.append(f"at most {m.max_length}")
        elif hasattr(m, "pattern") and isinstance(m.pattern, str):
            out.append(f"matches `{m.pattern}`")
    return out


_VALIDATED = {
    "check_slug": " (slug)",
    "check_timezone": " (IANA zone)",
    "check_mqtt_url": " (mqtt:// or mqtts:// URL)",
    "check_pointer": " (JSON pointer)",
    "check_quantity": " (a quantity of DESIGN.md §2)",
}


def _type_name(tp: Any, models: dict[type[BaseModel], str], extra: list[Any] | None = None) -> str:
    tp, meta = _strip_annotated(tp)
    meta = [*meta, *(extra or [])]
    validators = [m for m in meta if type(m).__name__ == "AfterValidator"]
    origin = get_origin(tp)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in get_args(tp))
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        return " or ".join(_type_name(a, models, extra) for a in args)
    if origin is list:
        return f"list of {_type_name(get_args(tp)[0], models)}"
    if origin is dict:
        k, v = get_args(tp)
        return f"map {_type_name(k, models)} → {_type_name(v, models)}"
    if _is_model(tp):
        anchor = models.get(tp)
        return f"[{tp.__name__}](#{anchor})" if anchor else tp.__name__
    name = "path" if tp is Path else getattr(tp, "__name__", str(tp))
    for v in validators:
        name += _VALIDATED.get(getattr(v.func, "__name__", ""), "")
    return name


def _annotation_constraints(tp: Any) -> list[str]:
    tp, meta = _strip_annotated(tp)
    found = _constraints(meta)
    if get_origin(tp) in (Union, types.UnionType):
        for a in get_args(tp):
            found.extend(_annotation_constraints(a))
    return found


def _unit(name: str, description: str, tp: Any, constraints: list[str]) -> str:
    bracket = re.search(r"\[([^\]]+)\]", description)
    if bracket:
        return bracket.group(1)
    if "wind_speed" in name:
        return "m/s"
    if name.endswith("_ms"):
        return "ms"
    for suffix, unit in SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    if "≤ 1" in constraints and ("≥ 0" in constraints or "> 0" in constraints):
        return "fraction 0..1"
    return ""


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        made = info.default_factory()  # type: ignore[call-arg]
        if isinstance(made, str):
            return "random per process"
        return f"`{made!r}`"
    if info.default is PydanticUndefined:
        return "**required**"
    value = info.default
    if value is None:
        return "none"
    if isinstance(value, Path):
        try:
            return f"`{value.relative_to(ROOT)}` of the installation"
        except ValueError:
            return f"`{value}`"
    if isinstance(value, BaseModel):
        return "its defaults"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{value:g}`"
    if isinstance(value, str):
        return f'`"{value}"`' if value else '`""`'
    return f"`{value!r}`"


def _rows(model: type[BaseModel], models: dict[type[BaseModel], str]) -> list[Row]:
    rows = []
    for name, info in model.model_fields.items():
        desc = _description(model, name, info)
        tp = info.annotation
        constraints = _constraints(list(info.metadata)) + _annotation_constraints(tp)
        type_text = _type_name(tp, models, list(info.metadata))
        if info.discriminator or _is_tagged_union(tp):
            type_text = " or ".join(_type_name(m, models) for m in _union_models(tp))
            type_text = f"list of {type_text}" if get_origin(tp) is list else type_text
        if constraints:
            type_text += " (" + ", ".join(dict.fromkeys(constraints)) + ")"
        key = name
        if name == "kind" and get_origin(_strip_annotated(tp)[0]) is Literal:
            key = f"kind: {get_args(_strip_annotated(tp)[0])[0]}"
        rows.append(Row(key, type_text, _unit(name, desc, tp, constraints), _default(info), desc))
    return rows


def _union_models(tp: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    tp, _ = _strip_annotated(tp)
    if _is_model(tp):
        return [tp]
    for a in get_args(tp):
        found.extend(m for m in _union_models(a) if m not in found)
    return found


def _is_tagged_union(tp: Any) -> bool:
    base, meta = _strip_annotated(tp)
    if get_origin(base) is list:
        return _is_tagged_union(get_args(base)[0])
    return any(isinstance(m, FieldInfo) and m.discriminator for m in meta)


# --- sections -------------------------------------------------------------------------------


def _walk(root: type[BaseModel], root_path: str) -> list[tuple[type[BaseModel], str]]:
    """The root and every model reachable from its fields, each right after the model that
    holds it, with the key path where it stands in the file (``assets[kind=wind].power_curve``)."""
    order: list[tuple[type[BaseModel], str]] = []
    seen: set[type[BaseModel]] = set()

    def visit(model: type[BaseModel], path: str) -> None:
        seen.add(model)
        order.append((model, path))
        for name, info in model.model_fields.items():
            base, _ = _strip_annotated(info.annotation)
            many = get_origin(base) is list
            for sub in _union_models(info.annotation):
                if sub in seen:
                    continue
                key = name if path == root_path else f"{path}.{name}"
                kind = sub.model_fields.get("kind")
                tag = _strip_annotated(kind.annotation)[0] if kind is not None else None
                if tag is not None and get_origin(tag) is Literal:
                    key += f"[kind={get_args(tag)[0]}]"
                elif many:
                    key += "[]"
                visit(sub, key)

    visit(root, root_path)
    return order


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9 _-]", "", title.lower()).strip().replace(" ", "-")


def _sections() -> list[tuple[str, str, list[tuple[type[BaseModel], str]]]]:
    from config.gateway import Gateway
    from config.park import Park
    from config.profile import DeviceProfile

    return [
        (
            "Park files (generated)",
            "`config/parks/ID.yaml`, loaded by `config.load_park`.",
            _walk(Park, "(top level of a park file)"),
        ),
        (
            "Gateway files (generated)",
            "One edge agent's file (DESIGN.md §4), loaded by `config.load_gateway`.",
            _walk(Gateway, "(top level of a gateway file)"),
        ),
        (
            "Device profiles (generated)",
            "`config/devices/NAME.yaml` (DESIGN.md §3), loaded by `config.load_profile`.",
            _walk(DeviceProfile, "(top level of a device profile)"),
        ),
    ]


def _model_docs(model: type[BaseModel]) -> str:
    doc = model.__doc__ or ""
    if not doc or doc.startswith(("Usage docs", "!!!")) or model.__doc__ == BaseModel.__doc__:
        return ""
    return " ".join(doc.split())


def _table(rows: list[Row]) -> list[str]:
    out = ["| key | type | unit | default | description |", "|---|---|---|---|---|"]
    for r in rows:
        cells = [f"`{r.key}`", r.type, r.unit, r.default, r.description]
        out.append(
            "| "
            + " | ".join(
                c.replace("\n", " ").replace("|", "\\|") if i != 1 else c
                for i, c in enumerate(cells)
            )
            + " |"
        )
    return out


def settings_env() -> tuple[dict[str, str], list[str]]:
    """The server's environment variables: ZCPARK_* -> Settings field (read from the mapping in
    park_server/settings.py's ``from_env``), and the other ZCPARK_* names that file reads."""
    tree = ast.parse(SETTINGS_SOURCE.read_text(encoding="utf-8"))
    mapping: dict[str, str] = {}
    others: list[str] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "mapping" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            for k, v in zip(node.value.keys, node.value.values, strict=True):
                if isinstance(k, ast.Constant) and isinstance(v, ast.Constant):
                    mapping[str(k.value)] = str(v.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "get":
            for arg in node.args:
                if (
                    isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and re.fullmatch(r"ZCPARK_[A-Z_]+", arg.value)
                    and arg.value not in mapping
                    and arg.value not in others
                ):
                    others.append(arg.value)
    if not mapping:
        raise ValueError(f"{SETTINGS_SOURCE}: no 'mapping' of ZCPARK_* names in from_env")
    return mapping, others


def _settings_section(settings: type[BaseModel]) -> list[str]:
    mapping, others = settings_env()
    by_field = {f: k for k, f in mapping.items()}
    out = [
        "## Server environment variables (generated)",
        "",
        "`zcpark server` (and every server command) reads these once at start "
        "(`park_server/settings.py`). A bad value stops it with exit 2 and one line naming the "
        "variable and the reason, never the value.",
        "",
        "| variable | type | unit | default | description |",
        "|---|---|---|---|---|",
    ]
    unset = []
    for name, info in settings.model_fields.items():
        desc = _description(settings, name, info)
        tp = info.annotation
        constraints = _constraints(list(info.metadata)) + _annotation_constraints(tp)
        type_text = _type_name(tp, {}, list(info.metadata))
        if name == "trusted_proxies":
            type_text = "comma-separated addresses or networks"
        if constraints:
            type_text += " (" + ", ".join(dict.fromkeys(constraints)) + ")"
        row = [
            type_text,
            _unit(name, desc, tp, constraints),
            _default(info),
            desc.replace("|", "\\|"),
        ]
        if name in by_field:
            out.append(f"| `{by_field[name]}` | " + " | ".join(row) + " |")
        else:
            unset.append(f"`{name}` ({_default(info).strip('`')})")
    for var in others:
        if var == "ZCPARK_SECRET_KEY_FILE":
            desc = "a file holding the secret key, read when ZCPARK_SECRET_KEY is not set"
        else:
            desc = "read by park_server/settings.py"
        out.append(f"| `{var}` | path |  | none | {desc} |")
    if unset:
        out += [
            "",
            "Not read from the environment (fixed at their defaults for `zcpark server`): "
            + ", ".join(unset)
            + ".",
        ]
    return out


def render_generated(settings: type[BaseModel]) -> str:
    """The generated part of docs/configuration.md."""
    sections = _sections()
    anchors: dict[type[BaseModel], str] = {}
    titles: dict[type[BaseModel], str] = {}
    for _, _, models in sections:
        for model, path in models:
            title = f"{path} — {model.__name__}" if not path.startswith("(") else path
            titles[model] = title
            anchors[model] = _anchor(title)
    out = [
        END_HAND,
        "",
        "# Reference (generated)",
        "",
        "Every key of each file, from the pydantic models in `config/` and the server's "
        "`park_server/settings.py`. *unit* comes from the name's suffix (DESIGN.md §2) or the "
        "field's comment; *required* keys have no default; constraints are checked on load "
        "and break it with one line `FILE:LINE: FIELD: REASON`. This part is written by "
        "`zcpark docs config` (config/reference.py); tests/config/test_reference.py fails when "
        "it is stale.",
        "",
    ]
    for heading, intro, models in sections:
        out += [f"## {heading}", "", intro, ""]
        for model, _path in models:
            out += [f"### {titles[model]}", ""]
            doc = _model_docs(model)
            if doc:
                out += [doc, ""]
            out += _table(_rows(model, anchors))
            out.append("")
    out += _settings_section(settings)
    return "\n".join(out).rstrip() + "\n"


def hand_written(text: str) -> str:
    """The hand-written part of an existing docs/configuration.md (markers included)."""
    start, end = text.find(BEGIN_HAND), text.find(END_HAND)
    if start < 0 or end < start:
        raise ValueError(
            f"{DOC.relative_to(ROOT)}: the markers {BEGIN_HAND!r} and the generated part's "
            "first line are missing; restore them"
        )
    return text[start:end]


def render(settings: type[BaseModel], current: str | None = None) -> str:
    """The whole of docs/configuration.md: the hand-written part of ``current`` (default: the
    file as it is) followed by the generated reference; ``settings`` is the server's Settings
    model (park_server.settings.Settings), handed in by the caller."""
    text = DOC.read_text(encoding="utf-8") if current is None else current
    head = text[: text.find(BEGIN_HAND)] if BEGIN_HAND in text else ""
    return head + hand_written(text) + render_generated(settings)


def write(settings: type[BaseModel]) -> bool:
    """Regenerate docs/configuration.md; True when it changed."""
    old = DOC.read_text(encoding="utf-8")
    new = render(settings, old)
    if new != old:
        DOC.write_text(new, encoding="utf-8")
    return new != old
