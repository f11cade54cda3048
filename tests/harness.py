"""A running SaaS Tracker in the test process: the real app, lifespan and workers, on the test's
own databases, with a workspace, an admin token and an app ready to sign events."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import orjson
from starlette.testclient import TestClient

from app.accounts import service
from app.db import session_scope
from app.ingest.signature import sign_headers
from app.runtime import Runtime
from app.server import create_app
from app.settings import Settings
from app.workers.redis_queue import RedisQueue, make_broker


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
        """The stored events once `count` are written; there must be exactly `count` once
        every event acknowledged so far is written (the writer returns only when `events`,
        `ai_usage_events` and the rollups hold a batch)."""
        counted = "SELECT count() AS n FROM events"
        wait_until(lambda: self.stored(counted)[0]["n"] >= count, timeout)
        self.runtime.drain(timeout)
        rows = self.stored()
        assert len(rows) == count, f"expected {count} stored events, found {len(rows)}"
        return rows


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for a condition that no event announces (a metric, another process's state)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.01)


def wait_drained(env: dict[str, str], port: int, timeout: float = 60.0) -> None:
    """Wait until a `serve` process started with `env` on `port` has written every event it
    acknowledged: in Redis mode, until every message is acknowledged (redelivered ones too);
    embedded, until its on-disk queue, which keeps rows until they are written, is empty."""
    redis_url = env.get("SAAS_TRACKER_REDIS_URL")
    if redis_url:
        settings = Settings(_env_file=None, redis_url=redis_url)  # type: ignore[call-arg]
        queue = RedisQueue(make_broker(settings), settings.queue_name)
        try:
            assert queue.wait_empty(timeout), "the Redis queue did not drain"
        finally:
            queue.close()
        return

    def queue_empty() -> bool:
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        return "\nsaas_tracker_queue_depth 0.0\n" in metrics

    wait_until(queue_empty, timeout)


@contextmanager
def running(settings: Settings, *, plan: str = "growth") -> Iterator[Harness]:
    with TestClient(create_app(settings)) as client:
        runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        with session_scope(runtime.engine) as session:
            workspace, token = service.create_workspace(session, name="Acme", plan_key=plan)
            app = service.create_app(session, workspace_id=workspace.id, name="Acme web")
        yield Harness(client, runtime, workspace.id, token, app.uuid, app.api_secret)
