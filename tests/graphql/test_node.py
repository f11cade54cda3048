"""Global object identification (CONTRACT §7): `Node`, `node(id:)` with each type's own
authorization, and mutations that answer the entity they changed, with its id."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLInterfaceType, GraphQLObjectType

from app.db import utcnow
from app.graphql.node import encode_node_id
from app.graphql.schema import make_schema
from tests.accounts.people import module_api
from tests.conftest import ProcessDatabase
from tests.graphql.conftest import Api, Tenant, event_row

STORED_TYPES = {
    "App",
    "AuditEntry",
    "CatalogModel",
    "CatalogPrice",
    "CustomerPrice",
    "Event",
    "FxRate",
    "HealthModelConfig",
    "ModelAlias",
    "Organization",
    "WorkspaceSubscription",
}
NODE = "query ($id: ID!) { node(id: $id) { __typename id } }"
SIGNALS = [{"signal": "ACTIVE_USERS", "weight": 1, "good": 3, "bad": 1}]


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    process_clickhouse: ProcessDatabase,
) -> Iterator[Api]:
    with module_api(tmp_path_factory, sqlite_template, process_clickhouse) as api:
        yield api


def decoded(node_id: str) -> str:
    return base64.urlsafe_b64decode(node_id + "=" * (-len(node_id) % 4)).decode()


def node(api: Api, node_id: str, token: str | None) -> Any:
    return api.data(NODE, {"id": node_id}, token=token)["node"]


def test_every_type_of_a_stored_thing_implements_node() -> None:
    schema = make_schema(production=False)._schema
    interface = schema.type_map["Node"]
    assert isinstance(interface, GraphQLInterfaceType)
    assert {t.name for t in schema.get_possible_types(interface)} == STORED_TYPES
    # A report is computed, not stored: an id (for client caches), not a Node; the result of
    # createApp carries the App, and no id of its own (its secret is no cached entity).
    report, with_secret = schema.type_map["AiCostReport"], schema.type_map["AppWithSecret"]
    assert isinstance(report, GraphQLObjectType) and isinstance(with_secret, GraphQLObjectType)
    assert (str(report.fields["id"].type), list(report.interfaces)) == ("ID!", [])
    assert "id" not in with_secret.fields
    assert str(with_secret.fields["app"].type) == "App!"


def test_an_id_is_stable_opaque_and_the_same_wherever_the_thing_shows(api: Api) -> None:
    tenant = api.tenant()
    listed = api.data("{ apps { id uuid } }", token=tenant.admin_token)["apps"]
    one = api.data(
        "query ($u: UUID!) { app(uuid: $u) { id } }", {"u": str(tenant.app_uuid)},
        token=tenant.admin_token,
    )["app"]  # fmt: skip
    app_id = listed[0]["id"]
    assert decoded(app_id) == f"App:{tenant.app_uuid}"
    assert listed == [{"id": app_id, "uuid": str(tenant.app_uuid)}]
    assert one == {"id": app_id}
    assert node(api, app_id, tenant.admin_token) == {"__typename": "App", "id": app_id}


def test_node_answers_with_the_authorization_of_each_types_own_query(api: Api) -> None:
    acme, globex, operator = api.tenant(), api.tenant(name="Globex"), api.superuser_token()
    now = utcnow() - timedelta(hours=1)
    api.insert([event_row(acme, "signup", at=now, customer="acme-corp", event_id="e-1")])
    admin = acme.admin_token
    api.data(
        'mutation { setCustomerPrice(canonicalModelKey: "openai/gpt-5.4-mini", '
        'inputPerMillionEur: "1", outputPerMillionEur: "2") { id } }', token=admin,
    )  # fmt: skip
    api.data(
        'mutation { setFxRate(currency: "USD", validFrom: "2024-01-01T00:00:00Z", '
        'rateToEur: "0.9") { id } }', token=operator,
    )  # fmt: skip
    api.data(
        'mutation { createModelAlias(provider: "acme", model: "m-1", '
        'canonicalModelKey: "openai/gpt-5.4-mini") { id } }', token=operator,
    )  # fmt: skip
    api.data(
        'mutation { setCatalogPrice(canonicalModelKey: "openai/gpt-5.4-mini", '
        'validFrom: "2024-02-01T00:00:00Z", inputPerMillionEur: "3", '
        'outputPerMillionEur: "4") { id } }', token=operator,
    )  # fmt: skip
    workspace_things = api.data(
        """{ apps { id } events { id } organizations { id } healthModelConfig { id }
             customerPrices { id } }""",
        token=admin,
    )
    operator_things = api.data(
        """{ workspaces { id workspaceId } fxRates { id } auditLog(limit: 1) { items { id } } }""",
        token=operator,
    )
    ids = {
        "App": workspace_things["apps"][0]["id"],
        "Event": workspace_things["events"][0]["id"],
        "Organization": workspace_things["organizations"][0]["id"],
        "HealthModelConfig": workspace_things["healthModelConfig"]["id"],
        "CustomerPrice": workspace_things["customerPrices"][0]["id"],
        "CatalogModel": encode_node_id("CatalogModel", "openai/gpt-5.4-mini"),
        "WorkspaceSubscription": next(
            w["id"] for w in operator_things["workspaces"]
            if w["workspaceId"] == str(acme.workspace_id)
        ),
        "FxRate": operator_things["fxRates"][0]["id"],
        "AuditEntry": operator_things["auditLog"]["items"][0]["id"],
        "ModelAlias": encode_node_id("ModelAlias", "acme", "m-1"),
        "CatalogPrice": encode_node_id(
            "CatalogPrice", "openai/gpt-5.4-mini", "2024-02-01T00:00:00.000000+00:00"
        ),
    }  # fmt: skip
    assert set(ids) == STORED_TYPES
    assert decoded(ids["Event"]) == f'Event:["{acme.app_uuid}","e-1"]'
    assert decoded(ids["Organization"]) == f'Organization:["{acme.workspace_id}","acme-corp"]'

    def seen_by(token: str) -> dict[str, bool]:
        return {name: node(api, id_, token) is not None for name, id_ in ids.items()}

    found = {name: node(api, id_, admin if name not in OPERATOR_TYPES else operator)
             for name, id_ in ids.items()}  # fmt: skip
    assert found == {name: {"__typename": name, "id": id_} for name, id_ in ids.items()}
    workspace_only = {name: name not in OPERATOR_TYPES for name in ids}
    # The catalog is every credential's to read.
    assert seen_by(admin) == workspace_only
    assert seen_by(api.member_token(acme)) == workspace_only
    # Another workspace sees none of acme's things, but the catalog everyone reads.
    assert seen_by(globex.admin_token) == {name: name == "CatalogModel" for name in ids}
    # Operators have no workspace: they see the installation's things.
    assert seen_by(operator) == {name: name in {*OPERATOR_TYPES, "CatalogModel"} for name in ids}


OPERATOR_TYPES = {"WorkspaceSubscription", "FxRate", "AuditEntry", "ModelAlias", "CatalogPrice"}


def test_node_is_null_for_what_is_no_id_of_ours_and_refused_without_a_credential(
    api: Api,
) -> None:
    tenant = api.tenant()
    not_ids = [
        "",
        "not base64 !",
        base64.urlsafe_b64encode(b"App:not-a-uuid").decode(),
        encode_node_id("App", "00000000-0000-0000-0000-000000000000"),
        encode_node_id("Nothing", "1"),
        encode_node_id("Event", "only-one-part"),
        encode_node_id("AiCostReport", "0" * 32),
    ]
    assert [node(api, id_, tenant.admin_token) for id_ in not_ids] == [None] * len(not_ids)
    error = api.error(NODE, {"id": encode_node_id("App", str(tenant.app_uuid))}, token=None)
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "status": 401}


def test_every_mutation_answers_the_entity_it_changed_under_the_same_id(api: Api) -> None:
    tenant, operator = api.tenant(), api.superuser_token()
    admin = tenant.admin_token
    api.insert([event_row(tenant, "signup", at=utcnow() - timedelta(hours=1), customer="org-1")])

    created = api.data(
        'mutation { createApp(name: "Second") { uuid apiSecret app { id uuid name active } } }',
        token=admin,
    )["createApp"]
    app_id = encode_node_id("App", created["uuid"])
    assert created["app"] == {"id": app_id, "uuid": created["uuid"], "name": "Second",
                              "active": True}  # fmt: skip
    rotated = api.data(
        "mutation ($u: UUID!) { rotateAppSecret(uuid: $u) { app { id } } }",
        {"u": created["uuid"]}, token=admin,
    )["rotateAppSecret"]  # fmt: skip
    deactivated = api.data(
        "mutation ($u: UUID!) { deactivateApp(uuid: $u) { id active } }",
        {"u": created["uuid"]}, token=admin,
    )["deactivateApp"]  # fmt: skip
    assert (rotated, deactivated) == ({"app": {"id": app_id}}, {"id": app_id, "active": False})

    model_id = api.data("{ healthModelConfig { id } }", token=admin)["healthModelConfig"]["id"]
    configured = api.data(
        "mutation ($s: [HealthSignalInput!]!) { configureHealthModel(signals: $s) "
        "{ id isDefault } }", {"s": SIGNALS}, token=admin,
    )["configureHealthModel"]  # fmt: skip
    reset = api.data("mutation { resetHealthModel { id isDefault } }", token=admin)
    assert configured == {"id": model_id, "isDefault": False}
    assert reset["resetHealthModel"] == {"id": model_id, "isDefault": True}

    set_price = (
        'mutation ($i: Decimal!) { setCustomerPrice(canonicalModelKey: "openai/gpt-5.4-mini", '
        'inputPerMillionEur: $i, outputPerMillionEur: "2") { id inputPerMillionEur } }'
    )
    first = api.data(set_price, {"i": "1"}, token=admin)["setCustomerPrice"]
    second = api.data(set_price, {"i": "1.5"}, token=admin)["setCustomerPrice"]
    listed = api.data("{ customerPrices { id inputPerMillionEur } }", token=admin)
    assert first["id"] == second["id"]
    assert (
        listed["customerPrices"] == [second] == [{"id": first["id"], "inputPerMillionEur": "1.5"}]
    )

    planned = api.data(
        'mutation { setOrganizationPlan(customerOrgId: "org-1", plan: "pro") '
        "{ organization { id plan planSource } } }", token=admin,
    )["setOrganizationPlan"]["organization"]  # fmt: skip
    organizations = api.data("{ organizations { id plan planSource } }", token=admin)
    assert organizations["organizations"] == [planned]
    assert planned["plan"] == "pro" and planned["planSource"] == "ASSIGNED"

    workspaces = api.data("{ workspaces { id workspaceId } }", token=operator)["workspaces"]
    workspace_id = next(w["id"] for w in workspaces if w["workspaceId"] == str(tenant.workspace_id))
    moved = api.data(
        'mutation ($w: UUID!) { setWorkspacePlan(workspaceId: $w, plan: "enterprise") '
        "{ id plan { key } } }", {"w": str(tenant.workspace_id)}, token=operator,
    )["setWorkspacePlan"]  # fmt: skip
    assert moved == {"id": workspace_id, "plan": {"key": "enterprise"}}

    catalog = api.data(
        'mutation { createCatalogModel(provider: "nodetest", model: "m") '
        "{ id canonicalModelKey } }",
        token=operator,
    )["createCatalogModel"]
    assert catalog == {"id": encode_node_id("CatalogModel", "nodetest/m"),
                       "canonicalModelKey": "nodetest/m"}  # fmt: skip
    alias = api.data(
        'mutation { createModelAlias(provider: "nodetest", model: "m-latest", '
        'canonicalModelKey: "nodetest/m") { id catalogModel { id aliases { model } } } }',
        token=operator,
    )["createModelAlias"]
    assert alias == {
        "id": encode_node_id("ModelAlias", "nodetest", "m-latest"),
        "catalogModel": {"id": catalog["id"], "aliases": [{"model": "m-latest"}]},
    }
    price = api.data(
        'mutation { setCatalogPrice(canonicalModelKey: "nodetest/m", '
        'validFrom: "2024-01-01T00:00:00Z", inputPerMillionEur: "5", outputPerMillionEur: "6") '
        "{ id catalogModel { id price { inputPerMillionEur } } } }", token=operator,
    )["setCatalogPrice"]  # fmt: skip
    assert price == {
        "id": encode_node_id("CatalogPrice", "nodetest/m", "2024-01-01T00:00:00.000000+00:00"),
        "catalogModel": {"id": catalog["id"], "price": {"inputPerMillionEur": "5"}},
    }
    rate = api.data(
        'mutation { setFxRate(currency: "GBP", validFrom: "2024-01-01T00:00:00Z", '
        'rateToEur: "1.2") { id rateToEur } }', token=operator,
    )["setFxRate"]  # fmt: skip
    rates = api.data('{ fxRates(currency: "GBP") { id rateToEur } }', token=operator)
    assert rates["fxRates"] == [rate]


def test_an_ai_cost_report_has_the_id_of_its_workspace_and_arguments(api: Api) -> None:
    acme, globex = api.tenant(), api.tenant(name="Globex")
    query = """query ($by: AiCostBreakdown!, $env: String) {
      aiCost(from: "2026-10-01T00:00:00Z", to: "2026-11-01T00:00:00Z", by: $by, environment: $env)
      { id } }"""

    def report_id(tenant: Tenant, **variables: Any) -> str:
        found: str = api.data(query, {"by": "MODEL", **variables}, token=tenant.admin_token)[
            "aiCost"
        ]["id"]
        return found

    first = report_id(acme)
    assert report_id(acme) == first
    others = {report_id(acme, by="FEATURE"), report_id(acme, env="staging"), report_id(globex)}
    assert len(others) == 3 and first not in others
    assert decoded(first).startswith("AiCostReport:")
    assert node(api, first, acme.admin_token) is None
