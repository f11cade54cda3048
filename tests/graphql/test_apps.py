"""Apps: list, create within `apps_max`, rotate the secret, deactivate; admins only."""

from __future__ import annotations

from uuid import UUID

import orjson
import pytest

from app.ingest.signature import sign_headers
from tests.graphql.conftest import Api, Tenant

CREATE = "mutation ($name: String!) { createApp(name: $name) { uuid name active apiSecret } }"
ROTATE = """
mutation ($uuid: UUID!) { rotateAppSecret(uuid: $uuid) { apiSecret previousSecretValidUntil } }
"""
DEACTIVATE = "mutation ($uuid: UUID!) { deactivateApp(uuid: $uuid) { uuid active } }"


def ingest(api: Api, app_uuid: UUID | str, secret: str) -> int:
    body = orjson.dumps({"event": "signup", "user_hash": "u1"})
    headers = {
        "content-type": "application/json",
        **sign_headers(secret, body, app_uuid=str(app_uuid)),
    }
    return api.client.post("/v1/ingest", content=body, headers=headers).status_code


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_create_app_returns_the_app_with_its_secret(api: Api, tenant: Tenant) -> None:
    created = api.data(CREATE, {"name": "  Mobile "}, token=tenant.admin_token)["createApp"]
    assert created["name"] == "Mobile" and created["active"] is True
    assert len(created["apiSecret"]) == 64
    assert ingest(api, created["uuid"], created["apiSecret"]) == 202


def test_apps_never_show_the_secret(api: Api, tenant: Tenant) -> None:
    apps = api.data("{ apps { uuid name active } }", token=tenant.admin_token)["apps"]
    assert apps == [{"uuid": str(tenant.app_uuid), "name": "Acme web", "active": True}]
    error = api.error("{ apps { apiSecret } }", token=tenant.admin_token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert tenant.api_secret not in str(api.gql("{ apps { uuid } }", token=tenant.admin_token))


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_create_app_over_apps_max_is_limit_reached(api: Api) -> None:
    free = api.tenant(plan="free")  # apps_max 1, already used by its first app
    error = api.error(CREATE, {"name": "Second"}, token=free.admin_token)
    assert error["extensions"] == {
        "code": "LIMIT_REACHED",
        "status": 403,
        "limit": "apps_max",
        "current": 1,
        "max": 1,
    }
    assert error["path"] == ["createApp"]


def test_a_deactivated_app_frees_its_place_under_apps_max(api: Api) -> None:
    free = api.tenant(plan="free")
    api.data(DEACTIVATE, {"uuid": str(free.app_uuid)}, token=free.admin_token)
    created = api.data(CREATE, {"name": "Second"}, token=free.admin_token)["createApp"]
    assert created["active"] is True


def test_a_member_may_list_apps(api: Api, tenant: Tenant) -> None:
    apps = api.data("{ apps { uuid } }", token=api.member_token(tenant))["apps"]
    assert apps == [{"uuid": str(tenant.app_uuid)}]


@pytest.mark.parametrize(
    ("operation", "variables"),
    [
        (CREATE, {"name": "Mobile"}),
        (ROTATE, {"uuid": "APP"}),
        (DEACTIVATE, {"uuid": "APP"}),
    ],
)
def test_a_member_may_not_change_apps(
    api: Api, tenant: Tenant, operation: str, variables: dict[str, str]
) -> None:
    variables = {k: str(tenant.app_uuid) if v == "APP" else v for k, v in variables.items()}
    error = api.error(operation, variables, token=api.member_token(tenant))
    assert error["extensions"] == {"code": "FORBIDDEN", "status": 403}
    assert ingest(api, tenant.app_uuid, tenant.api_secret) == 202


def test_rotation_shows_a_new_secret_and_keeps_the_old_one_for_the_grace_period(
    api: Api, tenant: Tenant
) -> None:
    assert ingest(api, tenant.app_uuid, tenant.api_secret) == 202  # the old secret is cached
    rotated = api.data(ROTATE, {"uuid": str(tenant.app_uuid)}, token=tenant.admin_token)
    new_secret = rotated["rotateAppSecret"]["apiSecret"]
    assert new_secret != tenant.api_secret
    assert rotated["rotateAppSecret"]["previousSecretValidUntil"] is not None
    # The cache was invalidated: the new secret verifies at once, the old one still does.
    assert ingest(api, tenant.app_uuid, new_secret) == 202
    assert ingest(api, tenant.app_uuid, tenant.api_secret) == 202
    assert ingest(api, tenant.app_uuid, "0" * 64) == 401


def test_a_deactivated_app_is_refused_at_once(api: Api, tenant: Tenant) -> None:
    assert ingest(api, tenant.app_uuid, tenant.api_secret) == 202  # the app is cached as active
    app = api.data(DEACTIVATE, {"uuid": str(tenant.app_uuid)}, token=tenant.admin_token)
    assert app["deactivateApp"] == {"uuid": str(tenant.app_uuid), "active": False}
    assert ingest(api, tenant.app_uuid, tenant.api_secret) == 404


@pytest.mark.parametrize(
    "operation",
    [
        "query ($uuid: UUID!) { app(uuid: $uuid) { name } }",
        ROTATE,
        DEACTIVATE,
    ],
)
def test_another_workspaces_app_is_not_found(api: Api, tenant: Tenant, operation: str) -> None:
    intruder = api.tenant(name="Intruder")
    error = api.error(operation, {"uuid": str(tenant.app_uuid)}, token=intruder.admin_token)
    assert error["extensions"] == {"code": "NOT_FOUND", "status": 404}
    assert "Acme" not in error["message"]
    # Nothing changed: the app still ingests with its secret.
    assert ingest(api, tenant.app_uuid, tenant.api_secret) == 202


def test_another_workspaces_apps_are_not_listed(api: Api, tenant: Tenant) -> None:
    intruder = api.tenant(name="Intruder")
    apps = api.data("{ apps { uuid } }", token=intruder.admin_token)["apps"]
    assert apps == [{"uuid": str(intruder.app_uuid)}]


def test_an_operator_has_no_apps(api: Api) -> None:
    error = api.error("{ apps { uuid } }", token=api.superuser_token())
    assert error["extensions"] == {"code": "FORBIDDEN", "status": 403}
