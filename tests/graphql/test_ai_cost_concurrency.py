"""A page's ClickHouse work runs side by side (issue 28): the sections of one request, and the
figures and rows of one section, are in flight at once, and a section runs only the
statements of what it selects — so a page costs about its slowest section, not their sum
(`python -m bench.page` measures it through a real `serve`).

The store's `query` is wrapped to record (or hold back) the real statements: the engine runs
every one of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from app.db import utcnow
from app.graphql import context
from app.graphql.app import ANALYTICS_THREADS
from app.store.interface import AnalyticsStore, current_query_settings
from tests.graphql.conftest import Api, Tenant, event_row

ROWS = "key costEur calls"
# The AI Cost page of the dashboard: five sections, as one request's aliases.
PAGE = f"""{{
  totals: aiCost {{ totalCostEur calls callsWithUnknownCost errorRate }}
  byModel: aiCost(by: MODEL) {{ rows {{ {ROWS} }} }}
  byCustomer: aiCost(by: CUSTOMER) {{ rows {{ {ROWS} }} }}
  byFeature: aiCost(by: FEATURE) {{ rows {{ {ROWS} }} }}
  series: aiCost {{ series(granularity: DAY) {{ start costEur calls }} }}
}}"""


@contextmanager
def statements(
    store: AnalyticsStore, before: Callable[[], None] = lambda: None
) -> Iterator[list[str]]:
    """The statements the store runs in the block (`before` runs first in their thread)."""
    ran: list[str] = []
    original = store.query

    def query(sql: str, params: Any = None) -> Any:
        ran.append(sql)
        before()
        return original(sql, params)

    store.query = query  # type: ignore[method-assign]
    try:
        yield ran
    finally:
        del store.query


def together(parties: int) -> Callable[[], None]:
    """Holds the first `parties` statements until they are all in flight (an error after 10 s
    if they are not: they would be running one after the other)."""
    barrier = threading.Barrier(parties, timeout=10)
    lock = threading.Lock()
    arrived = 0

    def wait() -> None:
        nonlocal arrived
        with lock:
            arrived += 1
            held = arrived <= parties
        if held:
            barrier.wait()

    return wait


def calls(api: Api, tenant: Tenant) -> None:
    at = utcnow() - timedelta(hours=2)
    api.insert(
        [
            event_row(tenant, "ai_call_completed", at=at, cost="0.01", customer=f"c{i % 3}",
                      feature=f"f{i % 2}", provider="openai", model="gpt-5.4-mini")
            for i in range(6)
        ]
    )  # fmt: skip


def test_a_section_runs_the_statements_of_what_it_selects_only(api: Api, tenant: Tenant) -> None:
    calls(api, tenant)
    counted = {}
    for name, query in {
        "rows only": "{ aiCost(by: FEATURE) { rows { key calls } } }",
        "series only": "{ aiCost { series { start calls } } }",
        "figures only": "{ aiCost { calls totalCostEur } }",
        "figures and rows": "{ aiCost(by: FEATURE) { calls rows { key } } }",
        "page": PAGE,
    }.items():
        with statements(api.runtime.store) as ran:
            api.data(query, token=tenant.admin_token)
        counted[name] = len(ran)
    assert counted == {
        "rows only": 1,
        "series only": 1,
        "figures only": 1,
        "figures and rows": 2,
        "page": 5,
    }


def test_the_figures_and_rows_of_a_section_run_at_once(api: Api, tenant: Tenant) -> None:
    calls(api, tenant)
    with statements(api.runtime.store, together(2)) as ran:
        report = api.data(
            "{ aiCost(by: CUSTOMER) { calls rows { key calls } } }", token=tenant.admin_token
        )["aiCost"]
    assert len(ran) == 2
    assert report == {
        "calls": 6,
        "rows": [{"key": "c0", "calls": 2}, {"key": "c1", "calls": 2}, {"key": "c2", "calls": 2}],
    }


def test_the_sections_of_a_page_run_at_once(api: Api, tenant: Tenant) -> None:
    calls(api, tenant)
    # As many at once as the request may use: the analytics threads (app/graphql/app.py).
    with statements(api.runtime.store, together(ANALYTICS_THREADS)) as ran:
        page = api.data(PAGE, token=tenant.admin_token)
    assert len(ran) == 5
    assert page["totals"] == {
        "totalCostEur": "0.06",
        "calls": 6,
        "callsWithUnknownCost": 0,
        "errorRate": 0.0,
    }
    assert [row["key"] for row in page["byCustomer"]["rows"]] == ["c0", "c1", "c2"]


def test_sections_side_by_side_share_the_cores(
    api: Api, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A section alone may use every core; sections in flight together get a share each
    (`max_threads`), not a thread per core each."""
    calls(api, tenant)
    monkeypatch.setattr(context, "CORES", 2)
    threads: list[int | None] = []

    def recording(hold: Callable[[], None]) -> Callable[[], None]:
        def record() -> None:
            settings = current_query_settings()
            assert settings["max_execution_time"] == context.STATEMENT_LIMITS["max_execution_time"]
            threads.append(settings.get("max_threads"))
            hold()

        return record

    with statements(api.runtime.store, recording(lambda: None)):
        api.data("{ aiCost(by: FEATURE) { rows { key calls } } }", token=tenant.admin_token)
    assert threads == [None]
    threads.clear()
    with statements(api.runtime.store, recording(together(ANALYTICS_THREADS))):
        api.data(PAGE, token=tenant.admin_token)
    # The first sections may start before the others asked; the third starts with the first
    # two held in flight, the fourth with the fifth still waiting.
    assert len(threads) == 5
    assert set(threads) <= {None, 1}
    assert threads.count(1) >= 2
