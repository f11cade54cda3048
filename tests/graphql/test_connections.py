"""Cursor connections (CONTRACT §7): `edges { cursor node }`, `pageInfo { hasNextPage
endCursor }`, `first` and `after`, beside the plain lists, listing the same items in the same
order, each once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from graphql import parse

from app.db import utcnow
from app.graphql.cost import request_cost
from app.graphql.schema import make_schema
from tests.accounts.people import module_api
from tests.conftest import ProcessDatabase
from tests.graphql.conftest import Api, Tenant, event_row

PAGE = "edges { cursor node { %s } } pageInfo { hasNextPage endCursor hasPreviousPage startCursor }"


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    process_clickhouse: ProcessDatabase,
) -> Iterator[Api]:
    with module_api(tmp_path_factory, sqlite_template, process_clickhouse) as api:
        yield api


def walk(
    api: Api, field: str, arguments: str, node_fields: str, token: str, first: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every page of a connection, `first` at a time: the nodes in order, and the pages'
    pageInfo."""
    query = (
        f"query ($first: Int!, $after: String) {{ {field}(first: $first, after: $after"
        f"{arguments}) {{ {PAGE % node_fields} }} }}"
    )
    nodes: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    after = None
    while True:
        page = api.data(query, {"first": first, "after": after}, token=token)[field]
        edges = page["edges"]
        info = page["pageInfo"]
        assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
        assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
        nodes += [edge["node"] for edge in edges]
        pages.append(
            {k: info[k] for k in ("hasNextPage", "hasPreviousPage")} | {"size": len(edges)}
        )
        if not info["hasNextPage"]:
            return nodes, pages
        after = info["endCursor"]


def test_the_event_stream_pages_as_a_connection(api: Api) -> None:
    tenant = api.tenant()
    now = utcnow()
    api.insert(
        [event_row(tenant, "signup", at=now - timedelta(minutes=i), event_id=f"e{i}",
                   environment="production" if i % 2 else "staging") for i in range(5)]
    )  # fmt: skip
    stream = api.data("{ events { eventId cursor } }", token=tenant.admin_token)["events"]
    nodes, pages = walk(api, "eventsConnection", "", "eventId cursor", tenant.admin_token, 2)
    assert nodes == stream
    assert [n["eventId"] for n in nodes] == ["e0", "e1", "e2", "e3", "e4"]
    assert pages == [
        {"hasNextPage": True, "hasPreviousPage": False, "size": 2},
        {"hasNextPage": True, "hasPreviousPage": False, "size": 2},
        {"hasNextPage": False, "hasPreviousPage": False, "size": 1},
    ]
    # The filters of `events`; an edge's cursor is the event's own `cursor`.
    staging, _ = walk(api, "eventsConnection", ', environment: "staging"', "eventId cursor",
                      tenant.admin_token, 10)  # fmt: skip
    assert [n["eventId"] for n in staging] == ["e0", "e2", "e4"]
    empty = api.data(
        '{ eventsConnection(event: "none") { edges { cursor } '
        "pageInfo { hasNextPage endCursor } } }",
        token=tenant.admin_token,
    )["eventsConnection"]
    assert empty == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


def test_organizations_page_as_a_connection_in_their_order(api: Api) -> None:
    tenant = api.tenant()
    at = utcnow() - timedelta(hours=1)
    api.insert(
        [event_row(tenant, "signup", at=at, customer=f"org-{i}", user_hash=f"u{j}")
         for i in range(4) for j in range(i + 1)]
    )  # fmt: skip
    listed = api.data(
        "{ organizations(orderBy: ACTIVE_USERS, direction: ASC) { customerOrgId activeUsers } }",
        token=tenant.admin_token,
    )["organizations"]
    nodes, pages = walk(
        api, "organizationsConnection", ", orderBy: ACTIVE_USERS, direction: ASC",
        "customerOrgId activeUsers", tenant.admin_token, 3,
    )  # fmt: skip
    assert (
        nodes == listed == [{"customerOrgId": f"org-{i}", "activeUsers": i + 1} for i in range(4)]
    )
    assert [p["size"] for p in pages] == [3, 1]


def test_operators_page_workspaces_and_the_audit_log(api: Api) -> None:
    operator = api.superuser_token()
    for name in ("W1", "W2", "W3"):
        api.tenant(name=name)
    listed = api.data("{ workspaces(limit: 500) { id name } }", token=operator)["workspaces"]
    nodes, pages = walk(api, "workspacesConnection", "", "id name", operator, 2)
    assert nodes == listed and len(nodes) >= 3
    assert all(p["size"] == 2 for p in pages[:-1])
    for currency in ("USD", "GBP", "CHF"):
        api.data(
            f'mutation {{ setFxRate(currency: "{currency}", validFrom: "2024-01-01T00:00:00Z", '
            'rateToEur: "0.9") { currency } }', token=operator,
        )  # fmt: skip
    audit = api.data(
        '{ auditLog(limit: 200, action: "pricing.set_fx_rate") { items { id action } } }',
        token=operator,
    )["auditLog"]["items"]
    entries, _ = walk(api, "auditLogConnection", ', action: "pricing.set_fx_rate"', "id action",
                      operator, 2)  # fmt: skip
    assert entries == audit and len(entries) == 3


@pytest.mark.parametrize(
    ("field", "maximum"),
    [("eventsConnection", 500), ("organizationsConnection", 500)],
)
def test_first_is_bounded(api: Api, field: str, maximum: int) -> None:
    tenant: Tenant = api.tenant()
    for first in (0, maximum + 1):
        error = api.error(f"{{ {field}(first: {first}) {{ pageInfo {{ hasNextPage }} }} }}",
                          token=tenant.admin_token)  # fmt: skip
        assert (error["message"], error["extensions"]) == (
            f"'first' must be between 1 and {maximum}.",
            {"code": "BAD_USER_INPUT", "status": 400, "field": "first"},
        )
    error = api.error(f'{{ {field}(after: "nope") {{ pageInfo {{ hasNextPage }} }} }}',
                      token=tenant.admin_token)  # fmt: skip
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": "after"}


def test_the_cost_of_a_connection_counts_its_first_edges() -> None:
    schema = make_schema(production=False)._schema
    document = parse("{ eventsConnection(first: 500) { edges { cursor node { eventId } } } }")
    # 500 edges at most, each an edge and its node.
    assert request_cost(schema, document, None, None) == 500 * (1 + 1 * (1 + 1))
