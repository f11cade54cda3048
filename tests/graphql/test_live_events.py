"""`liveEvents` over graphql-transport-ws (CONTRACT §7): a real server on a real socket, events
through the real ingest and writer, and a WebSocket client speaking the protocol."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from pydantic import SecretStr
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from app.accounts import api_keys, service
from app.accounts.models import Role
from app.db import session_scope
from tests.accounts.people import make_user, sign_in
from tests.conftest import ProcessDatabase
from tests.graphql.conftest import Tenant
from tests.graphql.live import Served, module_settings, serve_in_thread

PROTOCOL = "graphql-transport-ws"
WAIT_S = 10.0
FIELDS = (
    "id eventId event timestamp receivedAt appUuid environment customerOrgId userHash "
    "properties aiCostStatus aiPricingSource aiCanonicalModelKey estimatedCostEur cursor"
)
LIVE = f"""
subscription ($app: UUID, $env: String, $event: String, $org: String) {{
  liveEvents(appUuid: $app, environment: $env, event: $event, customerOrgId: $org) {{ {FIELDS} }}
}}
"""
STREAM = f"{{ events {{ {FIELDS} }} }}"
# This module's bounds (app/settings.py): small, so that reaching them is cheap.
MAX_SUBSCRIPTIONS = 2
MAX_CONNECTIONS = 2
MAX_QUEUED = 3
REAUTHENTICATE_S = 0.2


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    process_clickhouse: ProcessDatabase,
) -> Iterator[Served]:
    settings = module_settings(
        tmp_path_factory.mktemp("live"),
        sqlite_template,
        process_clickhouse,
        live_max_subscriptions_per_connection=MAX_SUBSCRIPTIONS,
        live_max_connections_per_workspace=MAX_CONNECTIONS,
        live_max_queued_events=MAX_QUEUED,
        live_reauthenticate_s=REAUTHENTICATE_S,
    )
    with serve_in_thread(settings) as served:
        yield served


@pytest.fixture
def tenant(served: Served) -> Tenant:
    return served.tenant()


@contextmanager
def socket(
    served: Served, payload: dict[str, Any] | None = None, **headers: str
) -> Iterator[ClientConnection]:
    """A graphql-transport-ws connection, `connection_init` sent (not yet answered)."""
    with connect(
        served.ws_url,
        subprotocols=[Subprotocol(PROTOCOL)],
        additional_headers=headers,
        open_timeout=WAIT_S,
    ) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
        yield ws


def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=WAIT_S))
    return message


@contextmanager
def live(
    served: Served, tenant: Tenant, variables: dict[str, Any] | None = None
) -> Iterator[ClientConnection]:
    """An acknowledged connection with one subscription ("1") that the server is serving."""
    with socket(served, {"authorization": f"Bearer {tenant.admin_token}"}) as ws:
        assert receive(ws) == {"type": "connection_ack"}
        subscribe(ws, "1", variables)
        wait_subscribed(served, tenant)
        yield ws


def subscribe(ws: ClientConnection, op: str, variables: dict[str, Any] | None = None) -> None:
    message = {"id": op, "type": "subscribe", "payload": {"query": LIVE, "variables": variables}}
    ws.send(json.dumps(message))


def wait_subscribed(served: Served, tenant: Tenant, count: int = 1) -> None:
    """Until the server holds `count` subscribers of the workspace (the protocol has no
    acknowledgement of a subscription: its first `next` is its first event)."""
    hub = served.runtime.live.hub  # type: ignore[attr-defined]
    deadline = time.monotonic() + WAIT_S
    while hub.count(tenant.workspace_id) < count:
        assert time.monotonic() < deadline, "the subscription did not start"
        time.sleep(0.01)


def closed(ws: ClientConnection) -> tuple[int, str]:
    """The close code and reason the server ended the connection with."""
    with pytest.raises(ConnectionClosed) as ended:
        while True:
            ws.recv(timeout=WAIT_S)
    assert ended.value.rcvd is not None
    return ended.value.rcvd.code, ended.value.rcvd.reason


def event(name: str, **fields: Any) -> dict[str, Any]:
    return {"event": name, "event_id": str(uuid.uuid4()), "customer_org_id": "acme", **fields}


def test_each_stored_event_arrives_once_as_the_stream_shows_it(
    served: Served, tenant: Tenant
) -> None:
    first = event("ai_call_completed", properties={
        "feature": "support", "provider": "openai", "model": "gpt-5.4-mini",
        "input_tokens": 1000, "output_tokens": 200,
    })  # fmt: skip
    second = event("signup", environment="staging", user_hash="u-1", properties={"plan": "pro"})
    with live(served, tenant) as ws:
        served.ingest(tenant, first)
        got_first = receive(ws)
        # Sent again, ingest accepts it and the writer skips it: it is not stored twice, so it
        # is not announced twice.
        served.ingest(tenant, first)
        served.ingest(tenant, second)
        got_second = receive(ws)
    stream = served.data(STREAM, token=tenant.admin_token)["events"]
    assert [m["payload"]["data"]["liveEvents"]["eventId"] for m in (got_first, got_second)] == [
        first["event_id"],
        second["event_id"],
    ]
    assert [got_second, got_first] == [
        {"id": "1", "type": "next", "payload": {"data": {"liveEvents": shown}}} for shown in stream
    ]


def test_filters_select_events_like_the_stream(served: Served, tenant: Tenant) -> None:
    other_app = served.tenant(name="Other")
    wanted = {"app": str(tenant.app_uuid), "env": "staging", "event": "signup", "org": "acme"}
    matching, later = event("signup", environment="staging"), event("signup", environment="staging")
    with live(served, tenant, wanted) as ws:
        served.ingest(
            tenant,
            event("signup", environment="production"),
            event("login", environment="staging"),
            event("signup", environment="staging", customer_org_id="globex"),
            matching,
        )
        served.ingest(other_app, event("signup", environment="staging"))
        served.ingest(tenant, later)
        received = [receive(ws)["payload"]["data"]["liveEvents"]["eventId"] for _ in range(2)]
    assert received == [matching["event_id"], later["event_id"]]


def test_who_may_subscribe(served: Served, tenant: Tenant) -> None:
    engine, settings = served.runtime.engine, served.runtime.settings
    email = f"m-{uuid.uuid4()}@ex.com"
    user = make_user(engine, settings, email=email, workspace_id=tenant.workspace_id,
                     role=Role.member)  # fmt: skip
    member = sign_in(engine, user_id=user)
    refusals = []
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({}, {}),
        ({"authorization": "Bearer not-a-token"}, {}),
        ({"authorization": f"Bearer {served.superuser_token()}"}, {}),
    ]
    for payload, headers in cases:
        with socket(served, payload, **headers) as ws:
            refusals.append(closed(ws))
    assert refusals == [
        (4401, "Unauthorized: Sign in, or send 'Authorization: Bearer <token>'."),
        (4401, "Unauthorized: Unknown or revoked token."),
        (4403, "Forbidden: This operation works on a workspace's data: use a workspace "
               "token (operator tokens belong to no workspace)."),
    ]  # fmt: skip
    # The upgrade request's own credentials: an Authorization header, a browser's cookie.
    for headers in [{"authorization": f"Bearer {tenant.admin_token}"}, member.browser()]:
        with socket(served, None, **headers) as ws:
            assert receive(ws) == {"type": "connection_ack"}
    # A page of another site may not open a socket with the user's cookies.
    with (
        pytest.raises(InvalidStatus) as refused,
        socket(served, None, origin="https://evil.example", **member.browser()),
    ):
        pass
    assert refused.value.response.status_code == 403
    # Another workspace's app is NOT_FOUND, as in the event stream.
    with socket(served, {"authorization": f"Bearer {tenant.admin_token}"}) as ws:
        assert receive(ws) == {"type": "connection_ack"}
        subscribe(ws, "1", {"app": str(served.tenant(name="Globex").app_uuid)})
        answers = [receive(ws), receive(ws)]
    assert answers == [
        {"id": "1", "type": "next", "payload": {"data": None, "errors": [{
            "message": "Unknown app.", "extensions": {"code": "NOT_FOUND", "status": 404},
        }]}},
        {"id": "1", "type": "complete"},
    ]  # fmt: skip


def test_a_revoked_key_loses_its_connection(served: Served, tenant: Tenant) -> None:
    engine = served.runtime.engine
    with session_scope(engine) as session:
        key = service.create_token(session, workspace_id=tenant.workspace_id, role=Role.member)
    with socket(served, {"authorization": f"Bearer {key}"}) as ws:
        assert receive(ws) == {"type": "connection_ack"}
        subscribe(ws, "1")
        with session_scope(engine) as session:
            key_id = service.authenticate(session, key).token_id
            api_keys.revoke_api_key(
                session, workspace_id=tenant.workspace_id, key_id=key_id, actor="test"
            )
        # Checked again every REAUTHENTICATE_S.
        assert closed(ws) == (4401, "Unauthorized: Unknown or revoked token.")


def test_subscriptions_and_connections_are_bounded(served: Served, tenant: Tenant) -> None:
    bearer = {"authorization": f"Bearer {tenant.admin_token}"}
    with socket(served, bearer) as first, socket(served, bearer) as second:
        assert receive(first) == receive(second) == {"type": "connection_ack"}
        for op in ("1", "2", "3"):
            subscribe(first, op)
        limit = receive(first)
        with socket(served, bearer) as third:
            assert closed(third) == (
                4029,
                f"LIMIT_REACHED: this workspace has {MAX_CONNECTIONS} live connections already",
            )
        # A query or mutation over the socket: they go over HTTP.
        second.send(
            json.dumps({"id": "q", "type": "subscribe", "payload": {"query": "{ apps { uuid } }"}})
        )
        query = receive(second)
    assert limit == {"id": "3", "type": "error", "payload": [{
        "message": f"This connection holds {MAX_SUBSCRIPTIONS} subscriptions already: "
                   "complete one first.",
        "extensions": {"code": "LIMIT_REACHED", "status": 403,
                       "limit": "liveSubscriptionsPerConnection",
                       "current": MAX_SUBSCRIPTIONS, "max": MAX_SUBSCRIPTIONS},
    }]}  # fmt: skip
    assert query == {"id": "q", "type": "error", "payload": [{
        "message": "This connection carries subscriptions only: send queries and mutations "
                   "over HTTP (POST /graphql).",
        "extensions": {"code": "BAD_USER_INPUT", "status": 400},
    }]}  # fmt: skip
    # Closed connections count no more.
    deadline = time.monotonic() + WAIT_S
    while served.runtime.live.hub.count(tenant.workspace_id):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with socket(served, bearer) as again:
        assert receive(again) == {"type": "connection_ack"}


def test_a_slow_subscriber_is_dropped_and_the_writer_goes_on(
    served: Served, tenant: Tenant
) -> None:
    batch = [event("signup") for _ in range(MAX_QUEUED + 1)]
    with live(served, tenant) as ws:
        # One request, one write: more events at once than the subscriber may have waiting.
        served.ingest(tenant, *batch)
        code, reason = closed(ws)
    assert (code, reason) == (
        4008,
        f"Too slow: more than {MAX_QUEUED} events waited unsent; reconnect, and read `events` "
        "for the gap",
    )
    served.runtime.drain(WAIT_S)
    stored = served.data("{ events { eventId } }", token=tenant.admin_token)["events"]
    assert sorted(e["eventId"] for e in stored) == sorted(e["event_id"] for e in batch)


def test_in_redis_mode_events_go_through_redis_pub_sub(
    tmp_path: Path,
    sqlite_template: Path,
    process_clickhouse: ProcessDatabase,
    redis_url: str,
) -> None:
    settings = module_settings(
        tmp_path, sqlite_template, process_clickhouse, redis_url=SecretStr(redis_url)
    )
    with serve_in_thread(settings) as served:
        tenant = served.tenant()
        live_events = served.runtime.live
        channel = live_events.channel(str(tenant.workspace_id))  # type: ignore[attr-defined]
        client = redis.Redis.from_url(redis_url)
        sent = event("signup")
        with live(served, tenant) as ws:
            deadline = time.monotonic() + WAIT_S
            while client.pubsub_numsub(channel) != [(channel.encode(), 1)]:
                assert time.monotonic() < deadline, "the server does not listen on Redis"
                time.sleep(0.01)
            served.ingest(tenant, sent)
            got = receive(ws)
        client.close()
    assert got["payload"]["data"]["liveEvents"]["eventId"] == sent["event_id"]


def test_a_subscription_over_http_is_refused(served: Served, tenant: Tenant) -> None:
    response = served.http.post(
        "/graphql",
        json={"query": "subscription { liveEvents { id } }"},
        headers={"authorization": f"Bearer {tenant.admin_token}"},
    )
    assert (response.status_code, response.json()) == (
        200,
        {
            "data": None,
            "errors": [
                {
                    "message": "Subscriptions are served over WebSocket only: open /graphql "
                    "with the graphql-transport-ws protocol.",
                    "extensions": {"code": "BAD_USER_INPUT", "status": 400},
                }
            ],
        },
    )
