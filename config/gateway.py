"""Gateway files (DESIGN.md §4): one edge agent's buses, devices, uplink and buffer."""

from __future__ import annotations

from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from config.base import Frozen, Slug, field_error, register_tags
from config.quantities import Quantity
from config.redact import redact


def check_mqtt_url(url: str) -> str:
    parts = urlsplit(url)
    shown = redact(url)  # an error names the URL, never its password
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"{shown!r} must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError(f"{shown!r} has no host")
    try:
        parts.port  # noqa: B018 - raises on a non-numeric port
    except ValueError:
        raise ValueError(f"{shown!r} has an invalid port") from None
    return url


MqttUrl = Annotated[str, AfterValidator(check_mqtt_url)]


class Uplink(Frozen):
    mqtt: MqttUrl
    batch_max_samples: int = Field(500, ge=1, le=50_000)
    batch_max_seconds: float = Field(1.0, gt=0, le=3600)
    ca_file: str | None = None  # for mqtts:// with a private CA
    client_id: str | None = None
    keepalive_s: int = Field(30, ge=5, le=3600)
    status_interval_s: float = Field(30.0, gt=0, le=3600)
    #: the key the server signs this gateway's setpoints with (hex, from `zcpark gateways add`);
    #: set, setpoints without a valid signature are refused (docs/edge.md)
    setpoint_key: str | None = Field(None, pattern=r"^[0-9a-fA-F]{32,128}$")


class Buffer(Frozen):
    path: str
    max_mb: float = Field(2048, gt=0)


class _ModbusBus(Frozen):
    name: str
    timeout_s: float = Field(1.0, gt=0, le=60)
    inter_request_delay_ms: float = Field(0, ge=0, le=10_000)


class ModbusTcpBus(_ModbusBus):
    kind: Literal["modbus_tcp"]
    host: str
    port: int = Field(502, ge=1, le=65535)


class ModbusRtuBus(_ModbusBus):
    kind: Literal["modbus_rtu"]
    port: str
    baudrate: int = Field(9600, ge=300, le=921_600)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8


class MqttBus(Frozen):
    kind: Literal["mqtt"]
    name: str
    url: MqttUrl


register_tags("modbus_tcp", "modbus_rtu", "mqtt")

Bus = Annotated[ModbusTcpBus | ModbusRtuBus | MqttBus, Field(discriminator="kind")]


def check_pointer(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not a JSON pointer (it must start with '/')")
    return value


JsonPointer = Annotated[str, AfterValidator(check_pointer)]


class Device(Frozen):
    meter: Slug
    bus: str
    # Modbus devices
    unit_id: int | None = Field(None, ge=0, le=255)
    profile: str | None = None
    poll_interval_s: float = Field(1.0, gt=0, le=86_400)
    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    # MQTT devices
    topic: str | None = None
    fields: dict[Quantity, JsonPointer] | None = None
    timestamp_field: JsonPointer | None = None


class Gateway(Frozen):
    gateway: Slug
    park: Slug
    uplink: Uplink
    buffer: Buffer
    buses: list[Bus] = Field(min_length=1)
    devices: list[Device] = Field(min_length=1)

    def bus(self, name: str) -> ModbusTcpBus | ModbusRtuBus | MqttBus:
        for b in self.buses:
            if b.name == name:
                return b
        raise KeyError(name)

    @model_validator(mode="after")
    def _check(self) -> Self:
        names: dict[str, int] = {}
        for i, b in enumerate(self.buses):
            if b.name in names:
                raise field_error(f"buses[{i}].name", f"bus {b.name!r} is defined twice")
            names[b.name] = i
        meters: dict[str, int] = {}
        for i, d in enumerate(self.devices):
            at = f"devices[{i}]"
            if d.meter in meters:
                raise field_error(
                    f"{at}.meter", f"meter {d.meter!r} already read by devices[{meters[d.meter]}]"
                )
            meters[d.meter] = i
            if d.bus not in names:
                raise field_error(
                    f"{at}.bus", f"no bus named {d.bus!r} (buses: {', '.join(names)})"
                )
            bus = self.buses[names[d.bus]]
            if isinstance(bus, MqttBus):
                if not d.topic:
                    raise field_error(f"{at}.topic", "required for a device on an mqtt bus")
                if not d.fields:
                    raise field_error(f"{at}.fields", "required for a device on an mqtt bus")
                for key in ("profile", "unit_id", "host", "port"):
                    if getattr(d, key) is not None:
                        raise field_error(f"{at}.{key}", "not used on an mqtt bus")
            else:
                if not d.profile:
                    raise field_error(f"{at}.profile", "required for a Modbus device")
                if d.unit_id is None:
                    raise field_error(f"{at}.unit_id", "required for a Modbus device")
                for key in ("topic", "fields", "timestamp_field"):
                    if getattr(d, key) is not None:
                        raise field_error(f"{at}.{key}", "only for devices on an mqtt bus")
                if isinstance(bus, ModbusRtuBus) and (d.host or d.port):
                    raise field_error(
                        f"{at}.host" if d.host else f"{at}.port",
                        "host/port only override a modbus_tcp bus",
                    )
        return self
