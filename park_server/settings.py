"""The server's one typed Settings object, read from the environment once."""

from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field


class Settings(BaseModel):
    database_url: str = "sqlite:///./zcpark.db"
    mqtt_url: str | None = None  # MQTT ingest and acks; None: HTTP ingest only
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32), min_length=32)
    token_minutes: int = 12 * 60
    parks_dir: Path = Path(__file__).resolve().parent.parent / "config" / "parks"
    run_scheduler: bool = True
    login_attempts_per_minute: int = 10
    #: the most samples one batch may carry
    max_batch_samples: int = 20_000
    #: how far a sample's time stamp may lie in the future / past
    max_future_seconds: int = 300
    max_past_days: int = 400
    #: the rolling re-plan (model-predictive control) period
    dispatch_interval_s: float = 900.0

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
        }
        for key, field in mapping.items():
            if env.get(key):
                values[field] = env[key]
        return cls.model_validate(values)


@cache
def get_settings() -> Settings:
    return Settings.from_env()
