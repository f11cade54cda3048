"""Runs the Alembic migrations under `migrations/` against the configured database."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from app.settings import MIGRATIONS_DIR, PROJECT_ROOT


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
