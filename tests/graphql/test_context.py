"""The per-request context: one principal and one session serve every field of a request."""

from __future__ import annotations

import pytest

from tests.graphql.conftest import DAY, Api, Tenant, event_row


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
