"""``zcpark db upgrade``: apply the Alembic migrations shipped in park_server/db/migrations."""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def run(args: argparse.Namespace) -> int:
    from park_server.settings import get_settings

    url = get_settings().database_url
    upgrade(url)
    print(f"database at {url.split('@')[-1]} is at the newest schema")
    return 0
