"""Helpers for tests of people, sessions and API keys: cheap password hashing, users made
through the service, and requests made as a browser (cookies and CSRF header) or a client."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import delete
from starlette.testclient import TestClient

from app.accounts import people
from app.accounts.models import LoginThrottle, Membership, Role
from app.accounts.passwords import passwords_for
from app.db import session_scope
from app.runtime import Runtime
from app.server import create_app
from app.settings import Settings
from tests.conftest import CHDB_FOLDER, ProcessDatabase
from tests.graphql.conftest import Api

PASSWORD = "correct horse battery"
# Argon2id at its cheapest (microseconds, not a third of a second), sign-in failures answered
# without waiting: these tests check behaviour, not cost.
CHEAP: dict[str, Any] = {
    "password_hash_time_cost": 1,
    "password_hash_memory_kib": 8,
    "password_hash_parallelism": 1,
    "login_delay_s": 0.0,
    "login_delay_max_s": 0.0,
}


def cheap(settings: Settings, **overrides: Any) -> Settings:
    return settings.model_copy(update={**CHEAP, **overrides})


def make_user(
    engine: Engine,
    settings: Settings,
    *,
    email: str,
    workspace_id: UUID,
    role: Role = Role.member,
    password: str | None = PASSWORD,
) -> UUID:
    with session_scope(engine) as session:
        user, _ = people.create_user(
            session,
            email=email,
            workspace_id=workspace_id,
            role=role,
            actor="test",
            passwords=passwords_for(settings),
            password=password,
            link_ttl=timedelta(days=1),
        )
        return user.id


def join(engine: Engine, *, user_id: UUID, workspace_id: UUID, role: Role) -> None:
    with session_scope(engine) as session:
        session.add(Membership(user_id=user_id, workspace_id=workspace_id, role=role))


def sign_in(engine: Engine, *, user_id: UUID, ttl: timedelta = timedelta(hours=1)) -> Signed:
    """A session of the user, made by the service (no password needed)."""
    with session_scope(engine) as session:
        user = people.get_user(session, user_id)
        issued = people.issue_session(session, user=user, ttl=ttl)
    return Signed(issued.token, issued.csrf_token)


@dataclass(frozen=True)
class Signed:
    token: str
    csrf: str

    def browser(self, *, csrf: bool = True) -> dict[str, str]:
        """Headers of a browser: both cookies, and the CSRF header unless `csrf` is False."""
        headers = {"cookie": f"st_session={self.token}; st_csrf={self.csrf}"}
        if csrf:
            headers["x-csrf-token"] = self.csrf
        return headers

    def bearer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def gql(
    client: TestClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def data(
    client: TestClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    body = gql(client, query, variables, headers)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def error(
    client: TestClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The one error of an operation that must fail: its message and extensions."""
    body = gql(client, query, variables, headers)
    assert len(body.get("errors") or []) == 1, body
    found: dict[str, Any] = body["errors"][0]
    return {"message": found["message"], **found["extensions"]}


@contextmanager
def module_api(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    process_clickhouse: ProcessDatabase,
    **overrides: Any,
) -> Iterator[Api]:
    """One app for a whole test module (tests of people make workspaces and addresses of their
    own, so they need no fresh database each): on a copy of the SQLite template and this
    process's ClickHouse database, with cheap password hashing."""
    folder = tmp_path_factory.mktemp("people")
    database = folder / "relational.sqlite3"
    shutil.copyfile(sqlite_template, database)
    process_clickhouse.reset()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=folder / "data",
        database_url=f"sqlite:///{database}",
        clickhouse_url=f"chdb://{CHDB_FOLDER}?database={process_clickhouse.store.database}",
        batch_max_wait_s=0.2,
        migrate_on_start=False,
        **{**CHEAP, **overrides},
    )
    with TestClient(create_app(settings)) as client:
        runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        yield Api(client, runtime)


def forget_sign_in_failures(engine: Engine) -> None:
    """Tests of one module share the client address "testclient": each starts uncounted."""
    with session_scope(engine) as session:
        session.execute(delete(LoginThrottle))


def unique_email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}@example.com"
