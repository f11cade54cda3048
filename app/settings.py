"""Configuration: the only module that reads the environment (12-factor, `.env` also read)."""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SAAS_TRACKER_", env_file=".env", extra="ignore", frozen=True
    )

    env: Environment = Environment.development
    # Where integrators reach this server; shown in tracking snippets (never the Host header,
    # which a client controls).
    public_url: str = "http://127.0.0.1:8000"
    # Origins (comma-separated, e.g. "http://localhost:5173") whose pages may call /graphql
    # with credentials: a SPA served from another origin. Empty: same origin only.
    cors_origins: str = ""
    data_dir: Path = Path("./data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: a SQLite file under data_dir."
    )
    clickhouse_url: str | None = Field(
        default=None,
        description="chdb://<folder>[?database=<db>] (embedded) or clickhouse://user:pass@host:9000/db",
    )
    clickhouse_cluster: str | None = None
    # Off where a release step runs `saas-tracker migrate` before starting the servers (and in
    # tests, whose fixtures migrate once per process).
    migrate_on_start: bool = True
    redis_url: SecretStr | None = None
    queue_name: str = "saas_tracker_ingest"

    # Ingest limits (CONTRACT §2).
    max_request_bytes: int = 1024 * 1024
    max_event_bytes: int = 64 * 1024
    max_batch_events: int = 500
    max_json_depth: int = 32
    timestamp_tolerance_s: int = 300
    secret_rotation_grace_s: int = 24 * 3600
    app_cache_ttl_s: float = 10.0
    pricing_refresh_s: float = 5.0

    # Batching into ClickHouse.
    batch_max_rows: int = 5000
    batch_max_wait_s: float = 0.5
    worker_threads: int = 8
    redis_heartbeat_timeout_ms: int = 60_000
    # Out of a million broker fetches, how many also requeue the messages of dead workers.
    redis_maintenance_chance: int = 1_000
    retry_after_s: int = 5
    # Readiness (/readyz) of a process that writes: not ready once writes have failed for
    # this long, events have waited this long with none written, or the data disk has less free.
    # Back-pressure: past this many events waiting (embedded) or messages (Redis, each holding
    # the events of the requests one queue write grouped), ingest answers 503 + Retry-After.
    queue_max_depth: int = 1_000_000
    write_failing_after_s: float = 10.0
    queue_stalled_after_s: float = 60.0
    data_min_free_mb: int = 256

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def default_database_path(self) -> Path:
        """The SQLite file used when no database URL is set."""
        return self.data_dir / "saas_tracker.sqlite3"

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.default_database_path.as_posix()}"

    @cached_property
    def resolved_clickhouse_url(self) -> str:
        return self.clickhouse_url or f"chdb://{(self.data_dir / 'clickhouse').as_posix()}"

    @property
    def clickhouse_is_embedded(self) -> bool:
        return self.resolved_clickhouse_url.startswith("chdb://")

    @property
    def clickhouse_database(self) -> str:
        parsed = urlparse(self.resolved_clickhouse_url)
        if self.clickhouse_is_embedded:
            return parse_qs(parsed.query).get("database", ["saas_tracker"])[0]
        return parsed.path.lstrip("/") or "default"

    @property
    def uses_redis(self) -> bool:
        return self.redis_url is not None

    @property
    def local_queue_path(self) -> Path:
        return self.data_dir / "ingest_queue.sqlite3"
