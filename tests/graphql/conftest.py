"""The GraphQL API through HTTP: the real app with its lifespan on the test's own databases.

`api.gql(...)` posts one operation; workspaces, tokens and apps are made with the accounts
service in the runtime's database; events go straight into ClickHouse's `events` table (the
materialized view fills `ai_usage_events`), shaped exactly as the ingest workers write them.
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
import pytest
from sqlalchemy import make_url
from starlette.testclient import TestClient

from app.accounts import service
from app.accounts.models import Role, Workspace
from app.db import session_scope
from app.event_types import EVENT_COLUMNS
from app.runtime import Runtime
from app.server import create_app
from app.settings import Settings
from app.store.events_table import to_queued_row
from app.store.interface import AnalyticsStore
from app.workers.writer import EventWriter

# A fixed day for crafted traffic: queries name their range explicitly.
DAY = datetime(2026, 11, 2, tzinfo=UTC)


@dataclass(frozen=True)
class Tenant:
    workspace_id: UUID
    admin_token: str
    app_uuid: UUID
    api_secret: str


def event_row(
    tenant: Tenant,
    event: str,
    *,
    at: datetime,
    cost: str | None = None,
    model_key: str = "",
    status: str = "",
    source: str = "",
    customer: str = "acme-corp",
    environment: str = "production",
    app_uuid: UUID | None = None,
    user_hash: str = "u1",
    event_id: str | None = None,
    **properties: Any,
) -> dict[str, Any]:
    """A row of the `events` table as the workers insert it."""
    return {
        "workspace_id": tenant.workspace_id,
        "app_id": app_uuid or tenant.app_uuid,
        "event_id": event_id or str(uuid.uuid4()),
        "event": event,
        "timestamp": at,
        "received_at": at,
        "environment": environment,
        "customer_org_id": customer,
        "user_hash": user_hash,
        "properties": orjson.dumps(properties).decode(),
        "ai_cost_status": status,
        "ai_pricing_source": source,
        "ai_canonical_model_key": model_key,
        "estimated_cost_eur": None if cost is None else Decimal(cost),
    }


def delete_workspace_by_hand(settings: Settings, workspace_id: UUID) -> None:
    """What `sqlite3 relational.sqlite3 "DELETE FROM workspaces …"` does: the sqlite3 shell
    checks no foreign key, so the workspace's tokens and apps stay behind."""
    path = make_url(settings.resolved_database_url).database
    assert path is not None
    with contextlib.closing(sqlite3.connect(path)) as connection:
        deleted = connection.execute("DELETE FROM workspaces WHERE id = ?", (workspace_id.hex,))
        connection.commit()
    assert deleted.rowcount == 1


@dataclass
class Api:
    client: TestClient
    runtime: Runtime

    def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token is not None else {}
        response = self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None
    ) -> dict[str, Any]:
        """The data of an operation that must succeed."""
        body = self.gql(query, variables, token=token)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def error(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None
    ) -> dict[str, Any]:
        """The one error of an operation that must fail."""
        body = self.gql(query, variables, token=token)
        assert len(body.get("errors") or []) == 1, body
        error: dict[str, Any] = body["errors"][0]
        return error

    def tenant(self, *, plan: str = "growth", name: str = "Acme") -> Tenant:
        """A workspace with an admin token and one app."""
        with session_scope(self.runtime.engine) as session:
            workspace, token = service.create_workspace(session, name=name, plan_key=plan)
            app = service.create_app(session, workspace_id=workspace.id, name=f"{name} web")
        return Tenant(workspace.id, token, app.uuid, app.api_secret)

    def member_token(self, tenant: Tenant) -> str:
        with session_scope(self.runtime.engine) as session:
            return service.create_token(session, workspace_id=tenant.workspace_id, role=Role.member)

    def superuser_token(self) -> str:
        with session_scope(self.runtime.engine) as session:
            return service.create_superuser(session, email="ops@example.com")

    def override(self, tenant: Tenant, **overrides: int) -> None:
        """Subscription overrides of the workspace's plan limits."""
        with session_scope(self.runtime.engine) as session:
            workspace = session.get(Workspace, tenant.workspace_id)
            assert workspace is not None
            for name, value in overrides.items():
                setattr(workspace, f"override_{name}", value)
            session.add(workspace)

    def insert(self, rows: list[dict[str, Any]]) -> None:
        """Store typed `events` rows through the workers' writer (the one write path)."""
        writer = EventWriter(self.runtime.store, self.runtime.dead_letters)
        result = writer.write([to_queued_row({c: row[c] for c in EVENT_COLUMNS}) for row in rows])
        assert result.dead_lettered == 0, result.errors


@pytest.fixture
def api(settings: Settings, store: AnalyticsStore) -> Iterator[Api]:
    """The app on the test's databases (`store` drops the ClickHouse database afterwards)."""
    with TestClient(create_app(settings)) as client:
        runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        yield Api(client, runtime)


@pytest.fixture
def tenant(api: Api) -> Tenant:
    return api.tenant()
