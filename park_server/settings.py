"""The server's one typed Settings object, read from the environment once."""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from config.errors import UsageError

#: the largest HTTP ingest body and MQTT telemetry payload [bytes] (8 MiB: a full batch of 20,000
#: samples is about 2.4 MB)
MAX_BODY_BYTES = 8 * 1024 * 1024


class Settings(BaseModel):
    database_url: str = "sqlite:///./zcpark.db"
    mqtt_url: str | None = None  # MQTT ingest and acks; None: HTTP ingest only
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32), min_length=32)
    token_minutes: int = Field(default=12 * 60, gt=0, le=366 * 24 * 60)
    parks_dir: Path = Path(__file__).resolve().parent.parent / "config" / "parks"
    run_scheduler: bool = True
    #: login attempts a minute for one user name from one client address
    login_attempts_per_minute: int = Field(default=10, gt=0)
    #: login attempts a minute from one client address, whatever the user names
    login_attempts_per_minute_per_address: int = Field(default=30, gt=0)
    #: the most (address) and (address, user) entries the login limiter keeps
    login_limiter_entries: int = Field(default=10_000, gt=0)
    #: proxies whose X-Forwarded-For is believed (addresses or networks); none by default
    trusted_proxies: list[str] = Field(default_factory=list)
    #: this server's stable name: its MQTT client id is ``zcpark-server-{instance_id}``, so that a
    #: restart resumes its session; None: ``zcpark server`` uses {hostname}-{port}
    instance_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] | None = None
    #: the largest HTTP ingest body and MQTT telemetry payload [bytes]
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, gt=0)
    #: the most samples one batch may carry
    max_batch_samples: int = Field(default=20_000, gt=0)
    #: how far a sample's time stamp may lie in the future / past
    max_future_seconds: int = Field(default=300, ge=0)
    max_past_days: int = Field(default=400, ge=0)
    #: PostgreSQL: raw samples are kept this many days (whole months dropped; rollups kept);
    #: None keeps them for ever. More than max_past_days + 1, so that no late sample can arrive
    #: for a month already dropped (its rollup would be recomputed from that sample alone)
    raw_retention_days: int | None = Field(default=None, gt=0)
    #: the rolling re-plan (model-predictive control) period
    dispatch_interval_s: float = Field(default=900.0, gt=0)
    #: a measured state of charge older than this is not used: the plan estimates it instead
    soc_max_age_s: float = Field(default=900.0, gt=0)
    #: the bearer token a Prometheus scraper sends for /api/v1/metrics; None: open to loopback
    #: clients only (an admin's token is accepted either way)
    metrics_token: str | None = Field(default=None, min_length=16)

    @field_validator("raw_retention_days")
    @classmethod
    def _retention_beyond_late_samples(cls, value: int | None, info: ValidationInfo) -> int | None:
        past = info.data.get("max_past_days")
        if value is not None and past is not None and value <= past + 1:
            raise ValueError(
                f"must be more than {past + 1} days (ZCPARK_MAX_PAST_DAYS + 1: samples up to "
                f"{past} days old are accepted, and their months must still be there)"
            )
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = [p.strip() for p in value.split(",") if p.strip()]
        if isinstance(value, list):
            for p in value:
                try:
                    ipaddress.ip_network(p, strict=False)
                except ValueError:
                    raise ValueError("not an IP address or network") from None
        return value

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        values: dict[str, object] = {}
        mapping = {
            "ZCPARK_DATABASE_URL": "database_url",
            "ZCPARK_MQTT_URL": "mqtt_url",
            "ZCPARK_SECRET_KEY": "secret_key",
            "ZCPARK_TOKEN_MINUTES": "token_minutes",
            "ZCPARK_PARKS_DIR": "parks_dir",
            "ZCPARK_RUN_SCHEDULER": "run_scheduler",
            "ZCPARK_DISPATCH_INTERVAL_S": "dispatch_interval_s",
            "ZCPARK_SOC_MAX_AGE_S": "soc_max_age_s",
            "ZCPARK_INSTANCE_ID": "instance_id",
            "ZCPARK_TRUSTED_PROXIES": "trusted_proxies",
            "ZCPARK_MAX_BODY_BYTES": "max_body_bytes",
            "ZCPARK_LOGIN_ATTEMPTS_PER_MINUTE": "login_attempts_per_minute",
            "ZCPARK_MAX_PAST_DAYS": "max_past_days",
            "ZCPARK_RAW_RETENTION_DAYS": "raw_retention_days",
            "ZCPARK_METRICS_TOKEN": "metrics_token",
        }
        for key, field in mapping.items():
            if env.get(key):
                values[field] = env[key]
        if "secret_key" not in values and env.get("ZCPARK_SECRET_KEY_FILE"):
            values["secret_key"] = _read_secret_file(Path(env["ZCPARK_SECRET_KEY_FILE"]))
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            # one line naming the variable and the reason, never the value (it may be a secret)
            names = {field: key for key, field in mapping.items()}
            first = exc.errors(include_input=False, include_url=False)[0]
            field = str(first["loc"][0]) if first["loc"] else "?"
            reason = first["msg"].removeprefix("Value error, ")
            raise UsageError(f"{names.get(field, field)}: {reason}") from None


#: the name of the generated JWT secret beside a SQLite database file: ``{database}.secret-key``
SECRET_SUFFIX = ".secret-key"


def _read_secret_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise UsageError(f"ZCPARK_SECRET_KEY_FILE: cannot read {str(path)!r}: {reason}") from None


def with_server_secret(settings: Settings) -> Settings:
    """The settings of a server that signs tokens: the JWT secret as given (ZCPARK_SECRET_KEY, or
    the file ZCPARK_SECRET_KEY_FILE names); without one, on a SQLite file, a secret generated
    once and kept beside it (``zcpark.db.secret-key``, mode 0600) so that tokens outlive a
    restart; on any other database UsageError, since every instance must share one secret. An
    in-memory SQLite database keeps the secret of the process."""
    if "secret_key" in settings.model_fields_set:
        return settings
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        raise UsageError("ZCPARK_DATABASE_URL: not a database URL") from None
    if url.get_backend_name() != "sqlite":
        raise UsageError(
            "ZCPARK_SECRET_KEY: required (or ZCPARK_SECRET_KEY_FILE) when the database is not "
            "SQLite: every server instance must sign tokens with the same secret"
        )
    if not url.database or url.database == ":memory:":
        return settings
    path = Path(url.database + SECRET_SUFFIX)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made before (or by another process just now): use it
        pass
    except OSError as exc:
        raise UsageError(
            f"ZCPARK_SECRET_KEY: not set, and {str(path)!r} cannot be created: {exc.strerror}"
        ) from None
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48) + "\n")
    for _ in range(50):  # another process may be between creating and writing it
        key = _read_secret_file(path)
        if len(key) >= 32:
            return settings.model_copy(update={"secret_key": key})
        time.sleep(0.02)
    raise UsageError(
        f"ZCPARK_SECRET_KEY: {str(path)!r} holds no secret of 32 characters (remove it to make a "
        "new one)"
    )


@cache
def get_settings() -> Settings:
    return Settings.from_env()
