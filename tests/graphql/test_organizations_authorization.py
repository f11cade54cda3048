"""Who may call the organizations, health model and plan operations: the exact refusal of each
(anonymous, member, admin, another workspace's admin, operator) x each operation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from app.db import utcnow
from tests.graphql.conftest import Api, Tenant, event_row

UNAUTHENTICATED = {"code": "UNAUTHENTICATED", "status": 401}
FORBIDDEN = {"code": "FORBIDDEN", "status": 403}
OK = "ok"

PRINCIPALS = ["anonymous", "member", "admin", "other_admin", "superuser"]

MODEL = [{"signal": "ACTIVE_USERS", "weight": 1, "good": 3, "bad": 1}]


@dataclass(frozen=True)
class Operation:
    document: str
    variables: dict[str, Any]
    # principal -> OK or the error's extensions
    outcomes: dict[str, Any]


WORKSPACE_READ = {
    "anonymous": UNAUTHENTICATED,
    "member": OK,
    "admin": OK,
    "other_admin": OK,
    "superuser": FORBIDDEN,
}
WORKSPACE_WRITE = {**WORKSPACE_READ, "member": FORBIDDEN}
ANY_TOKEN = {**WORKSPACE_READ, "superuser": OK}
OPERATOR_ONLY = {
    "anonymous": UNAUTHENTICATED,
    "member": FORBIDDEN,
    "admin": FORBIDDEN,
    "other_admin": FORBIDDEN,
    "superuser": OK,
}

OPERATIONS: dict[str, Operation] = {
    "organizations": Operation(
        "query ($from: DateTime) { organizations(from: $from) { customerOrgId } }",
        {},
        WORKSPACE_READ,
    ),
    "organization": Operation(
        'query ($from: DateTime) { organization(customerOrgId: "Acme", from: $from) '
        "{ customerOrgId } }",
        {},
        WORKSPACE_READ,
    ),
    "healthModelConfig": Operation("{ healthModelConfig { isDefault } }", {}, WORKSPACE_READ),
    "configureHealthModel": Operation(
        "mutation ($s: [HealthSignalInput!]!) { configureHealthModel(signals: $s) { isDefault } }",
        {"s": MODEL},
        WORKSPACE_WRITE,
    ),
    "resetHealthModel": Operation(
        "mutation { resetHealthModel { isDefault } }", {}, WORKSPACE_WRITE
    ),
    "setOrganizationPlan": Operation(
        'mutation { setOrganizationPlan(customerOrgId: "Acme", plan: "pro") { plan } }',
        {},
        WORKSPACE_WRITE,
    ),
    "plans": Operation("{ plans { key } }", {}, ANY_TOKEN),
    "workspaces": Operation("{ workspaces { id } }", {}, OPERATOR_ONLY),
    "setWorkspacePlan": Operation(
        'mutation ($w: UUID!) { setWorkspacePlan(workspaceId: $w, plan: "growth") { id } }',
        {"w": "TENANT"},
        OPERATOR_ONLY,
    ),
    "setSubscriptionOverrides": Operation(
        "mutation ($w: UUID!) { setSubscriptionOverrides(workspaceId: $w, appsMax: 5) { id } }",
        {"w": "TENANT"},
        OPERATOR_ONLY,
    ),
}


def token_of(api: Api, tenant: Tenant, other: Tenant, principal: str) -> str | None:
    return {
        "anonymous": lambda: None,
        "member": lambda: api.member_token(tenant),
        "admin": lambda: tenant.admin_token,
        "other_admin": lambda: other.admin_token,
        "superuser": api.superuser_token,
    }[principal]()


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_authorization_matrix(api: Api, tenant: Tenant, name: str, principal: str) -> None:
    operation = OPERATIONS[name]
    other = api.tenant(name="Other")
    variables = {
        key: str(tenant.workspace_id) if value == "TENANT" else value
        for key, value in operation.variables.items()
    }
    if "$from" in operation.document:
        variables["from"] = (utcnow() - timedelta(days=7)).isoformat()
    token = token_of(api, tenant, other, principal)
    expected = operation.outcomes[principal]
    if expected == OK:
        api.data(operation.document, variables, token=token)
        return
    error = api.error(operation.document, variables, token=token)
    assert error["extensions"] == expected
    assert error["path"] == [name]


def test_another_workspace_reads_none_of_the_data(api: Api, tenant: Tenant) -> None:
    other = api.tenant(name="Other")
    api.insert([event_row(tenant, "signup", at=utcnow() - timedelta(hours=1), customer="Acme")])
    since = {"from": (utcnow() - timedelta(days=1)).isoformat()}
    mine = api.data(OPERATIONS["organizations"].document, since, token=tenant.admin_token)
    theirs = api.data(OPERATIONS["organizations"].document, since, token=other.admin_token)
    one = api.data(OPERATIONS["organization"].document, since, token=other.admin_token)
    assert mine == {"organizations": [{"customerOrgId": "Acme"}]}
    assert theirs == {"organizations": []}
    assert one == {"organization": None}


def test_another_workspaces_model_change_stays_its_own(api: Api, tenant: Tenant) -> None:
    other = api.tenant(name="Other")
    configure = OPERATIONS["configureHealthModel"]
    api.data(configure.document, configure.variables, token=other.admin_token)
    mine = api.data("{ healthModelConfig { isDefault } }", token=tenant.admin_token)
    theirs = api.data("{ healthModelConfig { isDefault } }", token=other.admin_token)
    assert (mine, theirs) == (
        {"healthModelConfig": {"isDefault": True}},
        {"healthModelConfig": {"isDefault": False}},
    )
