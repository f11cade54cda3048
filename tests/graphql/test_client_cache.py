"""The API as a frontend uses it (CONTRACT §7): the dashboard's pages through Apollo Client and
its normalized InMemoryCache (tests/graphql/client/pages.mjs), against a real `serve` — on two
cores or more its front process, which relays the subscriptions' WebSocket to the engine.

After each mutation the page reads its query back from the cache, without a request: the
mutation's answer, filed under its entity's id, must have updated it. One `serve` and one run
of the pages for the module; each test judges one page.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from app.graphql.node import encode_node_id
from app.ingest.signature import sign_headers
from tests.npm import node_with
from tests.served import Processes

CLIENT = Path(__file__).parent / "client"
ORGANIZATIONS = ["org-a", "org-b", "org-c", "org-d"]


def _calls() -> bytes:
    """One completed AI call of each organization, with a known cost."""
    batch = [
        {
            "event": "ai_call_completed",
            "customer_org_id": org,
            "properties": {
                "feature": "support",
                "provider": "openai",
                "model": "gpt-5.4-mini",
                "input_tokens": 100,
                "output_tokens": 10,
                "estimated_cost_eur": 0.01,
            },
        }
        for org in ORGANIZATIONS
    ]
    return orjson.dumps({"batch": batch})


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    node = node_with(CLIENT, "@apollo/client")
    folder = tmp_path_factory.mktemp("client")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAAS_TRACKER_")}
    env |= {
        "SAAS_TRACKER_DATA_DIR": str(folder / "data"),
        "SAAS_TRACKER_CLICKHOUSE_URL": f"chdb://{folder / 'clickhouse'}?database=served",
        "SAAS_TRACKER_BATCH_MAX_WAIT_S": "0.05",
    }
    processes = Processes(env, folder)
    try:
        url = f"http://127.0.0.1:{processes.serve()}"
        workspace = processes.cli("admin", "create-workspace", "Client Co", "--plan", "growth")
        app = processes.cli("admin", "create-app", workspace["workspace_id"], "web")
        body = _calls()
        headers = sign_headers(app["api_secret"], body, app_uuid=app["app_uuid"])
        with httpx.Client(base_url=url, timeout=30) as http:
            assert http.post("/v1/ingest", content=body, headers=headers).status_code == 202
            deadline = time.monotonic() + 30
            while True:
                found = http.post(
                    "/graphql",
                    json={"query": "{ events { eventId } }"},
                    headers={"authorization": f"Bearer {workspace['token']}"},
                ).json()["data"]["events"]
                if len(found) == len(ORGANIZATIONS):
                    break
                assert time.monotonic() < deadline, "the events were not stored"
                time.sleep(0.05)
        now = datetime.now(UTC)
        config = {
            "url": url,
            "token": workspace["token"],
            "appUuid": app["app_uuid"],
            "apiSecret": app["api_secret"],
            "from": (now - timedelta(days=1)).isoformat(),
            "to": (now + timedelta(minutes=1)).isoformat(),
        }
        run = subprocess.run(
            [node, "--conditions=development", "pages.mjs", json.dumps(config)],
            cwd=CLIENT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        pages: dict[str, Any] = json.loads(run.stdout)
        pages["firstApp"] = app["app_uuid"]
        yield pages
    finally:
        processes.stop_all()


def page(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = report[name]
    assert "error" not in found, found["error"]
    return found


def test_apps_a_created_app_is_normalized_and_the_list_follows_each_change(
    report: dict[str, Any],
) -> None:
    apps = page(report, "apps")
    second = apps["created"]["uuid"]
    second_id = encode_node_id("App", second)
    assert apps["created"]["app"] == {
        "__typename": "App",
        "id": second_id,
        "uuid": second,
        "name": "Second",
        "active": True,
        "previousSecretValidUntil": None,
    }
    assert apps["createdInCache"] == {
        "__typename": "App", "id": second_id, "uuid": second, "name": "Second", "active": True,
    }  # fmt: skip

    def app(uuid: str, name: str, *, active: bool = True, rotated: Any = None) -> dict[str, Any]:
        return {
            "__typename": "App",
            "id": encode_node_id("App", uuid),
            "uuid": uuid,
            "name": name,
            "active": active,
            "previousSecretValidUntil": rotated,
        }

    first = app(report["firstApp"], "web")
    assert apps["listed"] == [first, app(second, "Second")]
    # deactivateApp answered { id active }: the cached list shows the app inactive.
    assert apps["afterDeactivate"] == [first, app(second, "Second", active=False)]
    # rotateAppSecret answered { app { id previousSecretValidUntil } }.
    rotated = apps["afterRotate"][1]["previousSecretValidUntil"]
    assert isinstance(rotated, str)
    assert apps["afterRotate"] == [first, app(second, "Second", active=False, rotated=rotated)]
    # createApp, the list, deactivateApp, rotateAppSecret: no request refetched the list.
    assert apps["requests"] == 4


def test_health_model_configure_updates_the_cached_config(report: dict[str, Any]) -> None:
    health = page(report, "healthModel")
    assert health["before"]["isDefault"] is True
    assert health["after"] == {
        "__typename": "HealthModelConfig",
        "id": health["before"]["id"],
        "isDefault": False,
        "editable": True,
        "signals": [
            {"__typename": "HealthSignalSetting", "signal": "ACTIVE_USERS", "weight": 2.0,
             "good": 5.0, "bad": 1.0},
        ],
    }  # fmt: skip
    assert health["requests"] == 2


def test_prices_a_new_price_updates_the_cached_list(report: dict[str, Any]) -> None:
    prices = page(report, "prices")

    def price(input_: str, output: str) -> dict[str, Any]:
        return {
            "__typename": "CustomerPrice",
            "id": prices["listed"][0]["id"],
            "canonicalModelKey": "openai/gpt-5.4-mini",
            "inputPerMillionEur": input_,
            "outputPerMillionEur": output,
        }

    assert prices["listed"] == [price("1", "2")]
    assert prices["after"] == [price("1.5", "2.5")]
    assert prices["requests"] == 3


def test_organizations_pages_and_a_plan_set_shows_in_the_cached_page(
    report: dict[str, Any],
) -> None:
    organizations = page(report, "organizations")
    workspace_orgs = [e["node"]["customerOrgId"] for e in organizations["first"]["edges"]]
    workspace_orgs += [e["node"]["customerOrgId"] for e in organizations["second"]["edges"]]
    assert workspace_orgs == ORGANIZATIONS
    assert organizations["first"]["pageInfo"]["hasNextPage"] is True
    assert organizations["second"]["pageInfo"] == {
        "__typename": "PageInfo",
        "hasNextPage": False,
        "endCursor": organizations["second"]["edges"][-1]["cursor"],
    }
    expected = json.loads(json.dumps(organizations["first"]))
    expected["edges"][1]["node"] |= {"plan": "enterprise", "planSource": "ASSIGNED"}
    assert organizations["after"] == expected
    assert organizations["requests"] == 3


def test_ai_cost_two_sections_of_one_report_merge_in_the_cache(report: dict[str, Any]) -> None:
    cost = page(report, "aiCost")
    assert cost["header"] == {
        "__typename": "AiCostReport",
        "id": cost["table"]["id"],
        "totalCostEur": "0.04",
        "calls": 4,
        "callsWithUnknownCost": 0,
    }
    assert cost["table"]["rows"] == [
        {"__typename": "AiCostRow", "key": "openai/gpt-5.4-mini", "calls": 4}
    ]
    # Both sections read back from the cache: neither replaced the other.
    assert (cost["headerFromCache"], cost["tableFromCache"]) == (cost["header"], cost["table"])
    assert report["cacheWarnings"] == []
    assert cost["requests"] == 2


def test_live_events_arrive_through_the_front_and_normalize(report: dict[str, Any]) -> None:
    live = page(report, "liveEvents")
    event = live["event"]
    assert live["sentIt"] is True
    assert event == {
        "__typename": "Event",
        "id": encode_node_id("Event", report["firstApp"], event["eventId"]),
        "eventId": event["eventId"],
        "event": "live_probe",
        "customerOrgId": "live",
    }
    assert live["cached"] == event
