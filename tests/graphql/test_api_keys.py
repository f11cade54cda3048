"""API keys for integrators: created by workspace admins (shown once, stored as a digest),
listed, revoked; scope READ reads everything and changes nothing; the tokens the CLI printed
before keys existed keep working as keys of scope ADMIN."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlmodel import col, select

from app.accounts.models import ApiToken, Role
from app.accounts.service import hash_token
from app.audit import AuditEntry
from app.db import session_scope, utcnow
from tests.accounts.people import (
    bearer,
    data,
    error,
    make_user,
    module_api,
    sign_in,
    unique_email,
)
from tests.conftest import ProcessDatabase
from tests.graphql.conftest import DAY, Api, Tenant, event_row

CREATE = """
mutation ($name: String!, $scope: ApiKeyScope!, $expiresAt: DateTime) {
  createApiKey(name: $name, scope: $scope, expiresAt: $expiresAt) {
    key apiKey { id name scope createdAt lastUsedAt expiresAt revokedAt createdBy { email } }
  }
}
"""
REVOKE = "mutation ($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }"
KEYS = "{ apiKeys { id name scope lastUsedAt expiresAt revokedAt createdBy { email } } }"
AI_COST = """
{ aiCost(from: "2026-11-01T00:00:00Z", to: "2026-11-03T00:00:00Z", by: MODEL) {
    totalCostEur calls rows { key costEur calls } } }
"""
UNKNOWN = {"message": "Unknown or revoked token.", "code": "UNAUTHENTICATED", "status": 401}


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    process_clickhouse: ProcessDatabase,
) -> Iterator[Api]:
    with module_api(tmp_path_factory, sqlite_template, process_clickhouse) as api:
        yield api


def _create(api: Api, token: str, scope: str, **variables: Any) -> dict[str, Any]:
    created: dict[str, Any] = data(
        api.client, CREATE, {"name": "BI export", "scope": scope, **variables}, bearer(token)
    )["createApiKey"]
    return created


def test_a_read_only_key_pulls_ai_cost_and_is_refused_every_mutation(
    api: Api, tenant: Tenant
) -> None:
    api.insert(
        [
            event_row(
                tenant,
                "ai_call_completed",
                at=DAY,
                cost="0.25",
                model_key="openai/gpt-5.4-mini",
                status="calculated",
                source="global_catalog",
            )
        ]
    )
    key = _create(api, tenant.admin_token, "READ")["key"]
    assert data(api.client, AI_COST, headers=bearer(key)) == {
        "aiCost": {
            "totalCostEur": "0.25",
            "calls": 1,
            "rows": [{"key": "openai/gpt-5.4-mini", "costEur": "0.25", "calls": 1}],
        }
    }
    refused = {
        "message": "This API key has the READ scope: it may not change anything.",
        "code": "FORBIDDEN",
        "status": 403,
    }
    assert error(
        api.client, 'mutation { createApp(name: "Web") { name } }', headers=bearer(key)
    ) == (refused)
    assert error(api.client, CREATE, {"name": "x", "scope": "ADMIN"}, bearer(key)) == refused


def test_a_new_key_is_shown_once_and_stored_as_its_digest(api: Api, tenant: Tenant) -> None:
    email = unique_email("ada")
    user = make_user(
        api.runtime.engine,
        api.runtime.settings,
        email=email,
        workspace_id=tenant.workspace_id,
        role=Role.admin,
    )
    created = data(
        api.client,
        CREATE,
        {"name": "BI export", "scope": "ADMIN"},
        sign_in(api.runtime.engine, user_id=user).browser(),
    )["createApiKey"]
    assert created["key"].startswith("st_")
    assert {k: v for k, v in created["apiKey"].items() if k not in ("id", "createdAt")} == {
        "name": "BI export",
        "scope": "ADMIN",
        "lastUsedAt": None,
        "expiresAt": None,
        "revokedAt": None,
        "createdBy": {"email": email},
    }
    with session_scope(api.runtime.engine) as session:
        row = session.exec(select(ApiToken).where(ApiToken.name == "BI export")).all()
    assert [(str(r.id), r.token_hash) for r in row if str(r.id) == created["apiKey"]["id"]] == [
        (created["apiKey"]["id"], hash_token(created["key"]))
    ]
    listed = data(api.client, KEYS, headers=bearer(tenant.admin_token))["apiKeys"]
    assert created["key"] not in repr(listed)


def test_the_token_of_create_workspace_is_listed_as_an_admin_key(api: Api, tenant: Tenant) -> None:
    keys = data(api.client, KEYS, headers=bearer(tenant.admin_token))["apiKeys"]
    assert [{k: v for k, v in key.items() if k not in ("id", "lastUsedAt")} for key in keys] == [
        {
            "name": "initial admin",
            "scope": "ADMIN",
            "expiresAt": None,
            "revokedAt": None,
            "createdBy": None,
        }
    ]
    assert keys[0]["lastUsedAt"] is not None


def test_a_member_token_of_before_keys_is_a_read_key(api: Api, tenant: Tenant) -> None:
    token = api.member_token(tenant)
    assert data(api.client, "{ viewer { role } }", headers=bearer(token)) == {
        "viewer": {"role": "MEMBER"}
    }
    assert error(api.client, "mutation { logout }", headers=bearer(token))["code"] == "FORBIDDEN"


def test_a_revoked_key_is_unauthenticated(api: Api, tenant: Tenant) -> None:
    created = _create(api, tenant.admin_token, "ADMIN")
    assert "errors" not in data(api.client, "{ apps { name } }", headers=bearer(created["key"]))
    revoked = data(api.client, REVOKE, {"id": created["apiKey"]["id"]}, bearer(tenant.admin_token))
    assert revoked["revokeApiKey"]["revokedAt"] is not None
    assert error(api.client, "{ apps { name } }", headers=bearer(created["key"])) == UNKNOWN


def test_an_expired_key_is_unauthenticated(api: Api, tenant: Tenant) -> None:
    expires = utcnow() + timedelta(hours=1)
    created = _create(api, tenant.admin_token, "READ", expiresAt=expires.isoformat())
    with session_scope(api.runtime.engine) as session:
        row = session.get(ApiToken, UUID(created["apiKey"]["id"]))
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    assert error(api.client, "{ apps { name } }", headers=bearer(created["key"])) == UNKNOWN


def test_an_expiry_in_the_past_is_bad_user_input(api: Api, tenant: Tenant) -> None:
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    refused = error(
        api.client,
        CREATE,
        {"name": "x", "scope": "READ", "expiresAt": past},
        bearer(tenant.admin_token),
    )
    assert refused == {
        "message": "A key's expiry must be in the future.",
        "code": "BAD_USER_INPUT",
        "status": 400,
        "field": "expiresAt",
    }


def test_another_workspace_s_key_cannot_be_revoked(api: Api, tenant: Tenant) -> None:
    other = api.tenant(name="Globex")
    created = _create(api, tenant.admin_token, "READ")
    refused = error(api.client, REVOKE, {"id": created["apiKey"]["id"]}, bearer(other.admin_token))
    assert refused == {"message": "Unknown API key.", "code": "NOT_FOUND", "status": 404}
    assert "errors" not in data(api.client, "{ apps { name } }", headers=bearer(created["key"]))


def test_key_creation_and_revocation_are_audited_without_the_key(api: Api, tenant: Tenant) -> None:
    created = _create(api, tenant.admin_token, "READ")
    data(api.client, REVOKE, {"id": created["apiKey"]["id"]}, bearer(tenant.admin_token))
    with session_scope(api.runtime.engine) as session:
        entries = session.exec(
            select(AuditEntry)
            .where(AuditEntry.workspace_id == tenant.workspace_id)
            .order_by(col(AuditEntry.at))
        ).all()
    described = {"id": created["apiKey"]["id"], "name": "BI export", "scope": "read"}
    assert [(e.action, e.before, e.after) for e in entries] == [
        ("api_key.create", None, {**described, "expires_at": None}),
        ("api_key.revoke", described, None),
    ]
    assert created["key"] not in repr([(e.before, e.after) for e in entries])
