"""A running SaaS Tracker in the test process: the real app, lifespan and workers, on the test's
own databases, with a workspace, an admin token and an app ready to sign events."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from starlette.testclient import TestClient

from app.accounts import service
from app.db import session_scope
from app.ingest.signature import sign_headers
from app.runtime import Runtime
from app.server import create_app
from app.settings import Settings


@dataclass
class Harness:
    client: TestClient
    runtime: Runtime
    workspace_id: UUID
    token: str
    app_uuid: UUID
    api_secret: str

    def post(
        self,
        payload: Any,
        *,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
    ) -> Any:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        signed = sign_headers(secret or self.api_secret, body, timestamp)
        all_headers = {
            "content-type": "application/json",
            "x-app-uuid": str(self.app_uuid),
            **signed,
            **(headers or {}),
        }
        return self.client.post("/v1/ingest", content=body, headers=all_headers)

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> Any:
        response = self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {token or self.token}"},
        )
        return response.json()

    def stored(
        self,
        sql: str = "SELECT * FROM events ORDER BY timestamp, event_id",
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        return self.runtime.store.query(sql, params)

    def wait_for_events(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Poll ClickHouse until `count` events are stored (fails past `timeout`).

        ClickHouse makes the `events` part visible a moment before the materialized views'
        parts, so this also waits for `ai_usage_events` to hold every AI event."""
        deadline = time.monotonic() + timeout
        consistency = (
            "SELECT (SELECT count() FROM events WHERE startsWith(event, 'ai_')) "
            "= (SELECT count() FROM ai_usage_events) AS ok"
        )
        while True:
            rows = self.stored()
            if len(rows) >= count and self.stored(consistency) == [{"ok": 1}]:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(rows) == count, f"expected {count} stored events, found {len(rows)}"
        return rows


@contextmanager
def running(settings: Settings, *, plan: str = "growth") -> Iterator[Harness]:
    with TestClient(create_app(settings)) as client:
        runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        with session_scope(runtime.engine) as session:
            workspace, token = service.create_workspace(session, name="Acme", plan_key=plan)
            app = service.create_app(session, workspace_id=workspace.id, name="Acme web")
        yield Harness(client, runtime, workspace.id, token, app.uuid, app.api_secret)
