"""The app under uvicorn in a thread of the test process, for tests that need a real socket
(WebSocket subscriptions): one per module, on its own copy of the SQLite template and this
process's ClickHouse database."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn

from app.accounts import service
from app.db import session_scope
from app.ingest.signature import sign_headers
from app.runtime import Runtime
from app.server import create_app
from app.settings import Settings
from tests.conftest import CHDB_FOLDER, ProcessDatabase
from tests.graphql.conftest import Tenant


@dataclass
class Served:
    url: str
    runtime: Runtime
    http: httpx.Client

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/graphql"

    def tenant(self, *, plan: str = "growth", name: str = "Acme") -> Tenant:
        with session_scope(self.runtime.engine) as session:
            workspace, token = service.create_workspace(session, name=name, plan_key=plan)
            app = service.create_app(session, workspace_id=workspace.id, name=f"{name} web")
        return Tenant(workspace.id, token, app.uuid, app.api_secret)

    def superuser_token(self) -> str:
        with session_scope(self.runtime.engine) as session:
            return service.create_superuser(session, email=f"ops-{time.monotonic_ns()}@ex.com")

    def ingest(self, tenant: Tenant, *events: dict[str, Any]) -> list[str]:
        """Post signed events in one request; the ids ingest gave them."""
        body = orjson.dumps({"batch": list(events)})
        headers = {
            "content-type": "application/json",
            **sign_headers(tenant.api_secret, body, app_uuid=str(tenant.app_uuid)),
        }
        response = self.http.post("/v1/ingest", content=body, headers=headers)
        assert response.status_code == 202, response.text
        ids: list[str] = response.json()["event_ids"]
        return ids

    def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str
    ) -> dict[str, Any]:
        response = self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {token}"},
        )
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        found: dict[str, Any] = body["data"]
        return found


def module_settings(
    folder: Path, sqlite_template: Path, process_clickhouse: ProcessDatabase, **overrides: Any
) -> Settings:
    database = folder / "relational.sqlite3"
    shutil.copyfile(sqlite_template, database)
    process_clickhouse.reset()
    return Settings(
        _env_file=None,
        env="test",
        data_dir=folder / "data",
        database_url=f"sqlite:///{database}",
        clickhouse_url=f"chdb://{CHDB_FOLDER}?database={process_clickhouse.store.database}",
        batch_max_wait_s=0.05,
        migrate_on_start=False,
        **overrides,
    )


@contextmanager
def serve_in_thread(settings: Settings) -> Iterator[Served]:
    """`create_app(settings)` under uvicorn on a free port, until the block ends."""
    app = create_app(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=30) as http:
            yield Served(url, app.state.runtime, http)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
