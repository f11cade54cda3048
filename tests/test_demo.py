"""`saas-tracker demo` (app/demo.py) against a live server: every event goes through the real
ingest endpoint and ends up in ClickHouse with the cost statuses the demo is meant to show."""

from __future__ import annotations

import io
import json
import random
import socket
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from rich.console import Console

from app.accounts.models import Workspace
from app.db import session_scope
from app.demo import DEFAULT_SEED, DemoFailed, TrafficGenerator, format_summary, run_demo
from app.settings import Settings
from tests.test_client import LiveServer, serving

EVENTS = 300


def demo(live: LiveServer, settings: Settings, **options: object) -> dict[str, object]:
    arguments: dict[str, object] = {
        "base_url": live.base_url,
        "database_url": settings.resolved_database_url,
        "plan": "growth",
        "events": EVENTS,
        "days": 30,
        "progress": False,
    }
    return run_demo(**(arguments | options))  # type: ignore[arg-type]


def test_every_demo_event_is_accepted_and_stored_under_its_generated_id(
    settings: Settings,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with serving(settings) as live:
        result = demo(live, settings, now=now)
        stored = live.wait_for_events(EVENTS)
    expected = TrafficGenerator(rng=random.Random(DEFAULT_SEED), now=now, days=30).events(EVENTS)
    assert result["events_sent"] == EVENTS
    assert sorted(row["event_id"] for row in stored) == sorted(e["event_id"] for e in expected)
    assert {str(row["app_id"]) for row in stored} == {result["app_uuid"]}


def test_the_demo_traffic_shows_every_cost_status_customer_variant_and_environment(
    settings: Settings,
) -> None:
    with serving(settings) as live:
        demo(live, settings)
        stored = live.wait_for_events(EVENTS)
    calls = [row for row in stored if row["event"] == "ai_call_completed"]
    assert {row["ai_cost_status"] for row in calls} == {
        "calculated",
        "explicit_event_cost",
        "missing_price",
        "unknown_model",
    }
    assert {"acme-corp", "Acme-Corp"} <= {row["customer_org_id"] for row in stored}
    assert {row["environment"] for row in stored} == {"production", "staging"}
    assert {row["event"] for row in stored} >= {
        "ai_call_completed",
        "ai_call_failed",
        "ai_output_accepted",
        "ai_output_edited",
        "ai_output_rejected",
    }


def test_the_demo_s_plan_breakdown_has_a_row_per_customer_plan(settings: Settings) -> None:
    with serving(settings) as live:
        result = demo(live, settings)
        live.wait_for_events(EVENTS)
        response = httpx.post(
            f"{live.base_url}/graphql",
            json={"query": "{ aiCost(by: PLAN) { rows { key calls } } }"},
            headers={"authorization": f"Bearer {result['token']}"},
        )
    rows = response.json()["data"]["aiCost"]["rows"]
    assert {row["key"] for row in rows} == {"enterprise", "team", "business", "starter"}
    assert all(row["calls"] > 0 for row in rows)


def test_the_demo_spreads_events_over_the_requested_days(settings: Settings) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with serving(settings) as live:
        demo(live, settings, now=now, days=7)
        stored = live.wait_for_events(EVENTS)
    moments = [row["timestamp"].replace(tzinfo=UTC) for row in stored]
    assert min(moments) >= now - timedelta(days=7)
    assert max(moments) <= now
    assert max(moments) - min(moments) > timedelta(days=5)


def test_the_demo_workspace_is_on_the_chosen_plan(settings: Settings) -> None:
    with serving(settings) as live:
        result = demo(live, settings, plan="starter", events=10)
        with session_scope(live.runtime.engine) as session:
            workspace = session.get(Workspace, uuid.UUID(str(result["workspace_id"])))
            assert workspace is not None
            assert workspace.plan_key == "starter"
    # Value signals need growth: the example does not select them on starter.
    assert "acceptanceRate" not in str(result["graphql_example"])


def test_the_graphql_example_answers_with_the_demo_calls(settings: Settings) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    expected = TrafficGenerator(rng=random.Random(DEFAULT_SEED), now=now, days=30).events(EVENTS)
    with serving(settings) as live:
        result = demo(live, settings, now=now)
        live.wait_for_events(EVENTS)
        answer = httpx.post(
            f"{live.base_url}/graphql",
            json={"query": result["graphql_example"]},
            headers={"authorization": f"Bearer {result['token']}"},
            timeout=30,
            follow_redirects=False,
        ).json()
    assert "errors" not in answer, answer
    report = answer["data"]["aiCost"]
    assert report["calls"] == sum(e["event"] == "ai_call_completed" for e in expected)
    assert sum(row["calls"] for row in report["rows"]) == report["calls"]


def test_the_progress_bar_counts_every_event(settings: Settings) -> None:
    output = io.StringIO()
    with serving(settings) as live:
        demo(live, settings, events=40, progress=True, console=Console(file=output, width=120))
    assert "Sending demo events" in output.getvalue()
    assert "40/40" in output.getvalue()


def test_the_same_seed_and_clock_give_the_same_traffic() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    first = TrafficGenerator(rng=random.Random(7), now=now, days=30).events(500)
    second = TrafficGenerator(rng=random.Random(7), now=now, days=30).events(500)
    other = TrafficGenerator(rng=random.Random(8), now=now, days=30).events(500)
    assert first == second
    assert first != other


def test_output_events_name_the_call_they_judge() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    traffic = TrafficGenerator(rng=random.Random(7), now=now, days=30).events(2000)
    calls = {e["properties"]["ai_call_id"]: e for e in traffic if e["event"] == "ai_call_completed"}
    outputs = [e for e in traffic if e["event"].startswith("ai_output_")]
    assert outputs
    for output in outputs:
        call = calls[output["properties"]["ai_call_id"]]
        assert output["properties"]["model"] == call["properties"]["model"]
        assert output["timestamp"] >= call["timestamp"]


def test_without_a_server_the_demo_says_how_to_start_one(settings: Settings) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    with pytest.raises(DemoFailed) as raised:
        run_demo(
            base_url=url,
            database_url=settings.resolved_database_url,
            plan="growth",
            events=10,
            days=30,
            progress=False,
        )
    closed.close()
    assert raised.value.message == (
        f"No SaaS Tracker answers at {url} (ConnectError): start `saas-tracker serve` first, "
        "or pass --url."
    )


def test_the_printed_curl_command_runs_the_example_query(settings: Settings) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    expected = TrafficGenerator(rng=random.Random(DEFAULT_SEED), now=now, days=30).events(EVENTS)
    with serving(settings) as live:
        result = demo(live, settings, now=now)
        live.wait_for_events(EVENTS)
        summary = format_summary(result, base_url=live.base_url)
        curl = summary.strip().splitlines()[-1]
        done = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["data"]["aiCost"]["calls"] == sum(
        e["event"] == "ai_call_completed" for e in expected
    )
    assert f"token         {result['token']}" in summary
