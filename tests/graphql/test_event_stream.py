"""The event stream's pages (`eventsPage`, `events(after:)`, cursors), filters, the fields the
"events not appearing" diagnosis reads, `ingestStatus`, and who may read them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from app.db import utcnow
from app.graphql.events.cursor import encode_cursor
from app.store.interface import AnalyticsStore
from tests.graphql.conftest import DAY, Api, Tenant, event_row

PAGE = """
query ($after: String, $limit: Int! = 3, $environment: String, $customerOrgId: String,
       $from: DateTime, $to: DateTime, $appUuid: UUID, $event: String) {
  eventsPage(after: $after, limit: $limit, environment: $environment, event: $event,
             customerOrgId: $customerOrgId, from: $from, to: $to, appUuid: $appUuid) {
    items { eventId appUuid cursor }
    nextCursor
    hasMore
  }
}
"""
EVENTS_AFTER = """
query ($after: String, $limit: Int!) {
  events(after: $after, limit: $limit) { eventId appUuid cursor }
}
"""
INGEST_STATUS = """
query ($appUuid: UUID, $from: DateTime, $to: DateTime) {
  ingestStatus(appUuid: $appUuid, receivedFrom: $from, receivedTo: $to) {
    receivedFrom receivedTo eventsReceived lastReceivedAt environments eventNames
    groups {
      appUuid environment event count firstTimestamp lastTimestamp lastReceivedAt
    }
  }
}
"""


def second_app(api: Api, tenant: Tenant) -> UUID:
    created = api.data('mutation { createApp(name: "Mobile") { uuid } }', token=tenant.admin_token)
    return UUID(created["createApp"]["uuid"])


def crafted_stream(tenant: Tenant, other_app: UUID) -> list[dict[str, Any]]:
    """Nine events whose order is decided by every key: the timestamp, then the event id, then
    the app (the two "d" share a millisecond and an id, in two apps)."""

    def at(seconds: float, event_id: str, app: UUID | None = None) -> dict[str, Any]:
        return event_row(
            tenant, "signup", at=DAY + timedelta(seconds=seconds), event_id=event_id, app_uuid=app
        )

    return [
        at(0, "b"),
        at(0, "c"),
        at(1, "d"),
        at(1, "d", other_app),
        at(1.5, "d5"),
        at(2, "e", other_app),
        at(2, "f"),
        at(2, "g"),
        at(3, "h"),
    ]


def page(api: Api, token: str, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = api.data(PAGE, variables, token=token)["eventsPage"]
    return result


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["eventId"] for item in items]


def test_three_pages_list_every_event_exactly_once(api: Api, tenant: Tenant) -> None:
    mobile = second_app(api, tenant)
    api.insert(crafted_stream(tenant, mobile))
    token = tenant.admin_token

    first = page(api, token)
    second = page(api, token, after=first["nextCursor"])
    third = page(api, token, after=second["nextCursor"])

    assert ids(first["items"]) == ["h", "g", "f"]
    assert ids(second["items"]) == ["e", "d5", "d"]
    assert ids(third["items"]) == ["d", "c", "b"]
    # The page boundary falls between the two events that differ only by their app.
    assert {second["items"][-1]["appUuid"], third["items"][0]["appUuid"]} == {
        str(tenant.app_uuid),
        str(mobile),
    }
    assert [first["hasMore"], second["hasMore"], third["hasMore"]] == [True, True, False]
    assert third["nextCursor"] is None
    # A page's next cursor is its last event's own cursor.
    assert first["nextCursor"] == first["items"][-1]["cursor"]
    assert second["nextCursor"] == second["items"][-1]["cursor"]


def test_events_after_an_items_cursor_continue_the_plain_list(api: Api, tenant: Tenant) -> None:
    mobile = second_app(api, tenant)
    api.insert(crafted_stream(tenant, mobile))
    token = tenant.admin_token
    first = api.data(EVENTS_AFTER, {"limit": 4}, token=token)["events"]
    rest = api.data(EVENTS_AFTER, {"limit": 500, "after": first[-1]["cursor"]}, token=token)
    assert ids(first) == ["h", "g", "f", "e"]
    assert ids(rest["events"]) == ["d5", "d", "d", "c", "b"]


def test_newer_events_arriving_mid_walk_do_not_shift_the_next_pages(
    api: Api, tenant: Tenant
) -> None:
    mobile = second_app(api, tenant)
    api.insert(crafted_stream(tenant, mobile))
    token = tenant.admin_token
    first = page(api, token)
    api.insert([event_row(tenant, "signup", at=DAY + timedelta(minutes=5), event_id="newer")])
    second = page(api, token, after=first["nextCursor"])
    assert ids(second["items"]) == ["e", "d5", "d"]
    assert ids(page(api, token)["items"]) == ["newer", "h", "g"]


def test_the_cursor_walks_within_the_filters(api: Api, tenant: Tenant) -> None:
    rows = []
    for minute in range(6):
        rows.append(
            event_row(
                tenant, "signup", at=DAY + timedelta(minutes=minute), event_id=f"match-{minute}"
            )
        )
        rows.append(
            event_row(
                tenant,
                "signup",
                at=DAY + timedelta(minutes=minute),
                event_id=f"staging-{minute}",
                environment="staging",
            )
        )
        rows.append(
            event_row(
                tenant,
                "signup",
                at=DAY + timedelta(minutes=minute),
                event_id=f"globex-{minute}",
                customer="globex",
            )
        )
        rows.append(
            event_row(
                tenant, "login", at=DAY + timedelta(minutes=minute), event_id=f"login-{minute}"
            )
        )
    api.insert(rows)
    filters = {
        "environment": "production",
        "customerOrgId": "acme-corp",
        "event": "signup",
        "appUuid": str(tenant.app_uuid),
        "from": (DAY + timedelta(minutes=1)).isoformat(),
        "to": (DAY + timedelta(minutes=5)).isoformat(),
        "limit": 2,
    }
    first = page(api, tenant.admin_token, **filters)
    second = page(api, tenant.admin_token, **filters, after=first["nextCursor"])
    assert ids(first["items"]) == ["match-4", "match-3"]
    assert ids(second["items"]) == ["match-2", "match-1"]
    assert second["hasMore"] is False
    assert second["nextCursor"] is None


def test_items_carry_received_at_and_app_uuid(api: Api, tenant: Tenant) -> None:
    row = event_row(tenant, "signup", at=DAY, event_id="late")
    row["received_at"] = DAY + timedelta(hours=3, milliseconds=250)
    api.insert([row])
    query = "{ events { eventId timestamp receivedAt appUuid environment } }"
    assert api.data(query, token=tenant.admin_token)["events"] == [
        {
            "eventId": "late",
            "timestamp": "2026-11-02T00:00:00.000Z",
            "receivedAt": "2026-11-02T03:00:00.250Z",
            "appUuid": str(tenant.app_uuid),
            "environment": "production",
        }
    ]


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "",
        encode_cursor("audit.v1", 0, "00000000-0000-0000-0000-000000000000"),
        encode_cursor("events.v1", "yesterday", "e", "00000000-0000-0000-0000-000000000000"),
        encode_cursor("events.v1", 0, "e", "not-a-uuid"),
        encode_cursor("events.v1", 0, "e"),
        "x" * 5000,
    ],
    ids=["garbage", "empty", "other-list", "bad-time", "bad-app", "short", "too-long"],
)
def test_a_cursor_not_made_by_the_stream_is_bad_user_input(
    api: Api, tenant: Tenant, cursor: str
) -> None:
    error = api.error(PAGE, {"after": cursor}, token=tenant.admin_token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": "after"}


def test_a_filter_longer_than_any_stored_value_is_bad_user_input(api: Api, tenant: Tenant) -> None:
    error = api.error(PAGE, {"environment": "p" * 201}, token=tenant.admin_token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": "environment"}


def test_a_page_is_one_clickhouse_statement(
    api: Api, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    mobile = second_app(api, tenant)
    api.insert(crafted_stream(tenant, mobile))
    store: AnalyticsStore = api.runtime.store
    statements: list[str] = []
    original = store.query

    def counting(sql: str, params: Any = None) -> Any:
        statements.append(sql)
        return original(sql, params)

    monkeypatch.setattr(store, "query", counting)
    first = page(api, tenant.admin_token, limit=3)
    page(api, tenant.admin_token, limit=3, after=first["nextCursor"])
    assert len(statements) == 2


# --- ingestStatus ---------------------------------------------------------------------------


def received(tenant: Tenant, event: str, *, at: datetime, received_at: datetime, **kw: Any) -> Any:
    row = event_row(tenant, event, at=at, **kw)
    row["received_at"] = received_at
    return row


def test_ingest_status_lists_what_was_received_by_received_time(api: Api, tenant: Tenant) -> None:
    other = api.tenant(name="Other")
    epoch_seconds_mistake = datetime(1970, 1, 21, 11, 5, 24, tzinfo=UTC)
    api.insert(
        [
            received(tenant, "signup", at=DAY, received_at=DAY + timedelta(hours=1)),
            received(tenant, "signup", at=DAY, received_at=DAY + timedelta(hours=2)),
            received(
                tenant,
                "ai_call_completed",
                at=epoch_seconds_mistake,
                received_at=DAY + timedelta(hours=3),
                environment="staging",
            ),
            # Received before the window: not listed, whatever its timestamp.
            received(tenant, "login", at=DAY, received_at=DAY - timedelta(seconds=1)),
            received(other, "other_workspace", at=DAY, received_at=DAY + timedelta(hours=1)),
        ]
    )
    variables = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}
    status = api.data(INGEST_STATUS, variables, token=tenant.admin_token)["ingestStatus"]
    assert status == {
        "receivedFrom": "2026-11-02T00:00:00.000Z",
        "receivedTo": "2026-11-03T00:00:00.000Z",
        "eventsReceived": 3,
        "lastReceivedAt": "2026-11-02T03:00:00.000Z",
        "environments": ["production", "staging"],
        "eventNames": ["ai_call_completed", "signup"],
        "groups": [
            {
                "appUuid": str(tenant.app_uuid),
                "environment": "staging",
                "event": "ai_call_completed",
                "count": 1,
                "firstTimestamp": "1970-01-21T11:05:24.000Z",
                "lastTimestamp": "1970-01-21T11:05:24.000Z",
                "lastReceivedAt": "2026-11-02T03:00:00.000Z",
            },
            {
                "appUuid": str(tenant.app_uuid),
                "environment": "production",
                "event": "signup",
                "count": 2,
                "firstTimestamp": "2026-11-02T00:00:00.000Z",
                "lastTimestamp": "2026-11-02T00:00:00.000Z",
                "lastReceivedAt": "2026-11-02T02:00:00.000Z",
            },
        ],
    }


def test_ingest_status_defaults_to_the_last_24_hours(api: Api, tenant: Tenant) -> None:
    now = utcnow().replace(microsecond=0)
    api.insert(
        [
            received(tenant, "recent", at=now, received_at=now - timedelta(hours=1)),
            received(tenant, "old", at=now, received_at=now - timedelta(hours=25)),
        ]
    )
    status = api.data(INGEST_STATUS, token=tenant.admin_token)["ingestStatus"]
    assert status["eventNames"] == ["recent"]
    received_from = datetime.fromisoformat(status["receivedFrom"])
    received_to = datetime.fromisoformat(status["receivedTo"])
    assert received_to - received_from == timedelta(hours=24)


def test_ingest_status_of_one_app(api: Api, tenant: Tenant) -> None:
    mobile = second_app(api, tenant)
    late = DAY + timedelta(hours=1)
    api.insert(
        [
            received(tenant, "web_event", at=DAY, received_at=late),
            received(tenant, "mobile_event", at=DAY, received_at=late, app_uuid=mobile),
        ]
    )
    variables = {
        "appUuid": str(mobile),
        "from": DAY.isoformat(),
        "to": (DAY + timedelta(days=1)).isoformat(),
    }
    status = api.data(INGEST_STATUS, variables, token=tenant.admin_token)["ingestStatus"]
    assert status["eventNames"] == ["mobile_event"]


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ((DAY, DAY), "'receivedFrom' must be before 'receivedTo'."),
        ((DAY - timedelta(days=32), DAY), "The window may span at most 31 days."),
    ],
    ids=["empty", "too-wide"],
)
def test_an_ingest_status_window_out_of_bounds_is_bad_user_input(
    api: Api, tenant: Tenant, window: tuple[datetime, datetime], message: str
) -> None:
    variables = {"from": window[0].isoformat(), "to": window[1].isoformat()}
    error = api.error(INGEST_STATUS, variables, token=tenant.admin_token)
    assert error["message"] == message
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": "receivedFrom"}


DATETIME_RANGE = "A date-time must lie from 1900-01-01T00:00:00Z to 2299-12-31T23:59:59Z."


def test_an_ingest_status_window_in_the_year_107_is_bad_user_input_before_any_query(
    api: Api, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    query = (
        '{ ingestStatus(receivedFrom: "0107-04-10T05:18:05Z", '
        'receivedTo: "0107-04-11T00:00:00Z") { eventsReceived } }'
    )
    with caplog.at_level(logging.ERROR):
        body = api.gql(query, token=tenant.admin_token)
    assert body["data"] is None
    assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
        (
            f"Expected value of type 'DateTime', but encountered error '{DATETIME_RANGE}'; "
            f'found: "{value}".',
            {"code": "BAD_USER_INPUT", "status": 400},
        )
        for value in ("0107-04-10T05:18:05Z", "0107-04-11T00:00:00Z")
    ]
    assert caplog.records == []


@pytest.mark.parametrize(
    "moment", ["1899-12-31T23:59:59Z", "2300-01-01T00:00:00Z", "2299-12-31T23:00:00-05:00"]
)
def test_a_date_time_variable_outside_what_clickhouse_holds_is_bad_user_input(
    api: Api, tenant: Tenant, moment: str
) -> None:
    error = api.error(INGEST_STATUS, {"to": moment}, token=tenant.admin_token)
    assert error["message"] == (
        "Variable '$to' has invalid value: Expected value of type 'DateTime', but encountered "
        f"error '{DATETIME_RANGE}'; found: '{moment}'."
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400}


def test_the_first_and_last_instants_clickhouse_holds_are_accepted(
    api: Api, tenant: Tenant
) -> None:
    for start, end in [
        ("1900-01-01T00:00:00Z", "1900-01-02T00:00:00Z"),
        ("2299-12-31T00:00:00Z", "2299-12-31T23:59:59.999999Z"),
    ]:
        variables = {"from": start, "to": end}
        status = api.data(INGEST_STATUS, variables, token=tenant.admin_token)["ingestStatus"]
        assert status["eventsReceived"] == 0


# --- who may read ---------------------------------------------------------------------------

OPERATIONS = {
    "events": ("{ events { eventId } }", lambda data: ids(data["events"])),
    "eventsPage": ("{ eventsPage { items { eventId } } }", lambda d: ids(d["eventsPage"]["items"])),
    "ingestStatus": (
        '{ ingestStatus(receivedFrom: "2026-11-01T00:00:00Z", receivedTo: "2026-11-03T00:00:00Z")'
        " { eventNames } }",
        lambda data: data["ingestStatus"]["eventNames"],
    ),
}
EXPECTED = {
    "events": ["acme-only"],
    "eventsPage": ["acme-only"],
    "ingestStatus": ["signup"],
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize(
    ("caller", "outcome"),
    [
        ("anonymous", {"code": "UNAUTHENTICATED", "status": 401}),
        ("member", "own"),
        ("admin", "own"),
        ("another workspace", "nothing"),
        ("superuser", {"code": "FORBIDDEN", "status": 403}),
    ],
)
def test_who_may_read_the_event_stream(
    api: Api, tenant: Tenant, operation: str, caller: str, outcome: Any
) -> None:
    api.insert([event_row(tenant, "signup", at=DAY, event_id="acme-only")])
    tokens = {
        "anonymous": None,
        "member": api.member_token(tenant),
        "admin": tenant.admin_token,
        "another workspace": api.tenant(name="Intruder").admin_token,
        "superuser": api.superuser_token(),
    }
    query, read = OPERATIONS[operation]
    if isinstance(outcome, dict):
        assert api.error(query, token=tokens[caller])["extensions"] == outcome
    else:
        seen = read(api.data(query, token=tokens[caller]))
        assert seen == (EXPECTED[operation] if outcome == "own" else [])


@pytest.mark.parametrize("operation", ["eventsPage", "ingestStatus"])
def test_another_workspaces_app_is_not_found(api: Api, tenant: Tenant, operation: str) -> None:
    intruder = api.tenant(name="Intruder")
    query = f'{{ {operation}(appUuid: "{tenant.app_uuid}") {{ __typename }} }}'
    error = api.error(query, token=intruder.admin_token)
    assert error["extensions"] == {"code": "NOT_FOUND", "status": 404}
