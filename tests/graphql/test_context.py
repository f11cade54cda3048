"""The per-request context: one principal and one session serve every field of a request."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.accounts.models import ApiToken, App
from app.db import session_scope
from app.models import delete_workspace
from tests.graphql.conftest import DAY, Api, Tenant, delete_workspace_by_hand, event_row


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_one_request_may_read_many_fields_at_once(api: Api, tenant: Tenant) -> None:
    api.insert([event_row(tenant, "signup", at=DAY, event_id="e1")])
    data = api.data(
        """{
          viewer { role appsCount }
          apps { name }
          customerPrices { canonicalModelKey }
          events { eventId }
          again: viewer { workspace { name } }
          catalog: modelCatalog { canonicalModelKey }
        }""",
        token=tenant.admin_token,
    )
    assert data["viewer"] == {"role": "ADMIN", "appsCount": 1}
    assert data["apps"] == [{"name": "Acme web"}]
    assert data["customerPrices"] == []
    assert data["events"] == [{"eventId": "e1"}]
    assert data["again"] == {"workspace": {"name": "Acme"}}
    assert len(data["catalog"]) > 0


def test_mutations_of_one_request_run_in_order(api: Api, tenant: Tenant) -> None:
    data = api.data(
        """mutation {
          first: createApp(name: "One") { name }
          second: createApp(name: "Two") { name }
        }""",
        token=tenant.admin_token,
    )
    assert data == {"first": {"name": "One"}, "second": {"name": "Two"}}
    apps = api.data("{ apps { name } }", token=tenant.admin_token)["apps"]
    assert [a["name"] for a in apps] == ["Acme web", "One", "Two"]


# --- a deleted workspace --------------------------------------------------------------------

EVERY_KIND_OF_OPERATION = [
    "{ viewer { role } }",
    "{ apps { name } }",
    "{ events { eventId } }",
    "{ aiCost { totalCostEur } }",
    "{ ingestStatus { eventsReceived } }",
    "{ customerPrices { canonicalModelKey } }",
    'mutation { createApp(name: "Again") { name } }',
]


def test_deleting_a_workspace_deletes_its_tokens_and_apps(api: Api, tenant: Tenant) -> None:
    other = api.tenant(name="Other")
    # Rows of other features that name the workspace go too (foreign keys hold on PostgreSQL).
    api.data(
        'mutation { setCustomerPrice(canonicalModelKey: "openai/gpt-5.4-mini", '
        'inputPerMillionEur: "1", outputPerMillionEur: "2") { canonicalModelKey } }',
        token=tenant.admin_token,
    )
    api.data(
        "mutation ($s: [HealthSignalInput!]!) { configureHealthModel(signals: $s) { isDefault } }",
        {"s": [{"signal": "ACTIVE_USERS", "weight": 1, "good": 3, "bad": 1}]},
        token=tenant.admin_token,
    )
    with session_scope(api.runtime.engine) as session:
        delete_workspace(session, workspace_id=tenant.workspace_id)
    with session_scope(api.runtime.engine) as session:
        assert session.exec(select(ApiToken.workspace_id)).all() == [other.workspace_id]
        assert session.exec(select(App.workspace_id)).all() == [other.workspace_id]
    assert api.data("{ viewer { role } }", token=other.admin_token) == {"viewer": {"role": "ADMIN"}}


@pytest.mark.parametrize("query", EVERY_KIND_OF_OPERATION)
def test_a_token_of_a_deleted_workspace_is_unauthenticated(
    api: Api, tenant: Tenant, query: str
) -> None:
    with session_scope(api.runtime.engine) as session:
        delete_workspace(session, workspace_id=tenant.workspace_id)
    error = api.error(query, token=tenant.admin_token)
    assert (error["message"], error["extensions"]) == (
        "Unknown or revoked token.",
        {"code": "UNAUTHENTICATED", "status": 401},
    )


@pytest.mark.parametrize("query", EVERY_KIND_OF_OPERATION)
def test_a_token_left_behind_by_a_workspace_deleted_by_hand_is_unauthenticated(
    api: Api, tenant: Tenant, query: str
) -> None:
    delete_workspace_by_hand(api.runtime.settings, tenant.workspace_id)
    error = api.error(query, token=tenant.admin_token)
    assert (error["message"], error["extensions"]) == (
        "Unknown or revoked token.",
        {"code": "UNAUTHENTICATED", "status": 401},
    )
