"""Configuration: the only module that reads the environment (12-factor, `.env` also read)."""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SAAS_TRACKER_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        # A refused setting is named, its value never echoed: URLs carry passwords.
        hide_input_in_errors=True,
    )

    env: Environment = Environment.development
    # Where integrators reach this server; shown in tracking snippets (never the Host header,
    # which a client controls).
    public_url: str = "http://127.0.0.1:8000"
    # Origins (comma-separated, e.g. "http://localhost:5173") whose pages may call /graphql
    # with credentials: a SPA served from another origin. Empty: same origin only.
    cors_origins: str = ""
    # Automatic persisted queries (app/graphql/persisted_queries.py): how many queries each
    # process remembers by hash (least recently used out first); 0 turns them off.
    persisted_queries_max_entries: int = Field(default=1000, ge=0)
    # Live events (GraphQL subscriptions over WebSocket, app/graphql/live_socket.py), counted
    # per serving process: subscriptions one connection may hold, connections one workspace
    # may hold, and events one subscription may have waiting to be sent before it is dropped
    # as too slow (close code 4008); how often a connection's credential is checked again.
    live_max_subscriptions_per_connection: int = Field(default=10, ge=1)
    live_max_connections_per_workspace: int = Field(default=20, ge=1)
    live_max_queued_events: int = Field(default=1000, ge=1)
    live_reauthenticate_s: float = Field(default=60.0, gt=0)
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

    # Batching into ClickHouse. Each batch pays a fixed cost (its inserts feed every rollup's
    # view: ~150 ms into ai_usage_events), so a writer behind its queue takes big batches:
    # 20,000 rows write ~1.8x the events per second of 5,000 (bench.writer).
    batch_max_rows: int = 20_000
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

    # People and access (CONTRACT §6).
    # Fernet keys sealing app secrets at rest, comma-separated, newest first: the newest seals,
    # every one opens (rotation: prepend a new key, run `saas-tracker admin reencrypt-secrets`,
    # then drop the old one). Unset outside production: a key generated into
    # `data_dir/secret_key` on first use. Required in production.
    secret_key: SecretStr | None = None
    # Argon2id cost of password hashes (argon2-cffi's defaults, RFC 9106's low-memory profile);
    # a hash of other parameters is upgraded at its next sign-in. Tests make them cheap.
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 64 * 1024
    password_hash_parallelism: int = 4
    password_min_length: int = 10
    session_ttl_s: int = 14 * 24 * 3600
    invitation_ttl_s: int = 7 * 24 * 3600
    password_reset_ttl_s: int = 24 * 3600
    # Failed sign-ins, counted per e-mail address and per client address over a window: past
    # `login_delay_after` failures each answer waits longer (doubling from `login_delay_s`, at
    # most `login_delay_max_s`); past the `…_lockout_after` failures, sign-ins are refused for
    # `login_lockout_s`, a correct password too.
    login_window_s: int = 15 * 60
    login_delay_after: int = 3
    login_delay_s: float = 0.5
    login_delay_max_s: float = 4.0
    login_account_lockout_after: int = 10
    login_address_lockout_after: int = 50
    login_lockout_s: int = 15 * 60

    @model_validator(mode="after")
    def _production_needs_a_secret_key(self) -> Settings:
        # A key generated into the data folder would seal secrets with a key that lives next to
        # the database it protects, and differ between the hosts of a deployment.
        if self.env == Environment.production and self.secret_key is None:
            raise ValueError(
                "SAAS_TRACKER_SECRET_KEY is required in production (it seals app secrets at "
                "rest). Generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            )
        return self

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
