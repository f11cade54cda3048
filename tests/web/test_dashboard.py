"""The dashboard (app/web) in a real browser: Debian's chromium driven by Playwright, against a
real `saas-tracker serve` filled by `saas-tracker demo`.

Every figure a page shows is compared with what the GraphQL API answers to the same question,
asked here with the workspace's own token and formatted by the page's own formatter (in the
browser: the viewer's locale and time zone). One server and one browser serve the whole module;
each test opens its own browser context (cookies, storage) on it.

Screenshots of every page go to `screenshots/` (not tracked by git).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    FloatRect,
    Page,
    Playwright,
    Request,
    WebSocket,
    WebSocketRoute,
    expect,
    sync_playwright,
)

from app.ingest.signature import sign_headers
from tests.served import Processes

CHROMIUM = "/usr/bin/chromium"
# Assertions on the page wait this long: a loaded 2-core CI machine runs other tests meanwhile.
expect.set_options(timeout=15_000)
DEMO_EVENTS = 300
PASSWORD = "correct horse battery staple"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
# The viewer's locale and time zone: the page must format with them, not the server's.
LOCALE = "en-US"
TIME_ZONE = "Europe/Berlin"


@dataclass
class Workspace:
    id: str
    token: str
    app_uuid: str
    api_secret: str


@dataclass
class Served:
    base_url: str
    processes: Processes
    demo: Workspace  # growth plan, demo traffic; person ADMIN_EMAIL signs in with PASSWORD
    starter: Workspace  # starter plan, no events at first
    operator_token: str

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The API's whole answer (data and errors) to `query`, as the demo workspace."""
        response = httpx.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {token or self.demo.token}"},
            timeout=30,
        )
        body: dict[str, Any] = response.json()
        return body

    def data(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        body = self.graphql(query, variables, **kw)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def ingest(self, workspace: Workspace, events: list[dict[str, Any]]) -> None:
        body = orjson.dumps({"batch": events})
        headers = {"x-app-uuid": workspace.app_uuid, **sign_headers(workspace.api_secret, body)}
        response = httpx.post(f"{self.base_url}/v1/ingest", content=body, headers=headers)
        assert response.status_code == 202, response.text


ADMIN_EMAIL = "ada@example.com"


def _started(env: dict[str, str], *args: str, stdin: bool = False) -> subprocess.Popen[str]:
    """A `saas-tracker` command started now: several run at once (each costs a Python start)."""
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _output(process: subprocess.Popen[str], stdin: str | None = None) -> str:
    out, err = process.communicate(stdin, timeout=120)
    assert process.returncode == 0, err
    return out


def _demo_workspace(out: str) -> Workspace:
    """The ids and secrets `saas-tracker demo` prints."""
    keys = ("workspace_id", "token", "app_uuid", "api_secret")
    found = {k: m.group(1) for k in keys if (m := re.search(rf"^\s+{k}\s+(\S+)", out, re.M))}
    assert len(found) == 4, out
    return Workspace(found["workspace_id"], found["token"], found["app_uuid"], found["api_secret"])


def eventually(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Wait for a condition the API answers (polled gently: the server is busy enough)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`serve` with the demo's workspace (and a person who signs in to it), a starter-plan
    workspace with one app and no events, and an operator."""
    folder = tmp_path_factory.mktemp("dashboard")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAAS_TRACKER_")}
    env |= {
        "SAAS_TRACKER_DATA_DIR": str(folder / "data"),
        "SAAS_TRACKER_CLICKHOUSE_URL": f"chdb://{folder / 'clickhouse'}?database=served",
        "SAAS_TRACKER_BATCH_MAX_WAIT_S": "0.05",
    }
    processes = Processes(env, folder)
    try:
        base_url = f"http://127.0.0.1:{processes.serve()}"
        demo_run = _started(
            env, "demo", "--url", base_url, "--events", str(DEMO_EVENTS), "--no-progress"
        )
        starter_run = _started(env, "admin", "create-workspace", "Starter Co", "--plan", "starter")
        operator_run = _started(env, "admin", "create-superuser", "ops@example.com")
        demo = _demo_workspace(_output(demo_run))
        person_run = _started(
            env,
            *("admin", "create-user", ADMIN_EMAIL, "--workspace", demo.id, "--role", "admin"),
            "--password-stdin",
            stdin=True,
        )
        starter = orjson.loads(_output(starter_run))
        served = Served(
            base_url,
            processes,
            demo,
            Workspace(starter["workspace_id"], starter["token"], "", ""),
            orjson.loads(_output(operator_run))["token"],
        )
        app = served.data(
            'mutation { createApp(name: "Starter app") { uuid apiSecret } }',
            token=starter["token"],
        )["createApp"]
        served.starter.app_uuid, served.starter.api_secret = app["uuid"], app["apiSecret"]
        _output(person_run, PASSWORD + "\n")
        received = "{ ingestStatus { eventsReceived } }"
        eventually(lambda: served.data(received)["ingestStatus"]["eventsReceived"] == DEMO_EVENTS)
        yield served
    finally:
        processes.stop_all()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # A missing browser fails the tests, it never skips them.
    assert os.path.exists(CHROMIUM), "Debian's chromium is required (apt-get install chromium)"
    browser = playwright.chromium.launch(executable_path=CHROMIUM)
    yield browser
    browser.close()


# Every URL any page of the module requested: all must be the server's own.
REQUESTED: set[str] = set()


def new_context(browser: Browser, *, width: int = 1280, height: int = 900) -> BrowserContext:
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale=LOCALE, timezone_id=TIME_ZONE
    )
    context.set_default_timeout(15_000)
    context.on("request", lambda request: REQUESTED.add(request.url))
    return context


# Script errors and console errors of each page: a test ends by asserting there are none.
ERRORS: dict[int, list[str]] = {}


def watched(context: BrowserContext) -> Page:
    """A new page whose script errors are recorded (`script_errors`)."""
    page = context.new_page()
    errors = ERRORS.setdefault(id(page), [])
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


def script_errors(page: Page) -> list[str]:
    return ERRORS[id(page)]


def sign_in(page: Page, base_url: str, email: str = ADMIN_EMAIL) -> None:
    page.goto(f"{base_url}/#/signin")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("who")).to_have_text(email)


def use_api_key(page: Page, base_url: str, key: str) -> None:
    page.goto(f"{base_url}/#/signin")
    page.get_by_role("button", name="Use an API key instead").click()
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Use this key").click()
    expect(page.get_by_test_id("who")).to_have_text("API key")


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def formatted(page: Page, *calls: tuple[str, Any]) -> list[str]:
    """Values formatted by the page's own module (js/format.js), in the browser's locale."""
    result: list[str] = page.evaluate(
        """async (calls) => {
            const f = await import("/static/js/format.js");
            return calls.map(([name, value]) => f[name](value));
        }""",
        [list(call) for call in calls],
    )
    return result


def table(page: Page, name: str) -> list[list[str]]:
    rows: list[list[str]] = page.eval_on_selector_all(
        f"[data-testid={name}] tbody tr:not(.details-row)",
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))",
    )
    return rows


@pytest.fixture(scope="module")
def admin_page(served: Served, browser: Browser) -> Iterator[Page]:
    """The demo workspace's admin, signed in with e-mail and password (cookie session)."""
    context = new_context(browser)
    page = watched(context)
    sign_in(page, served.base_url)
    yield page
    assert script_errors(page) == []
    context.close()


# --- sign-in ---------------------------------------------------------------------------------


def test_a_wrong_password_is_refused_with_the_api_s_message_then_the_right_one_signs_in(
    served: Served, browser: Browser
) -> None:
    context = new_context(browser)
    page = watched(context)
    page.goto(f"{served.base_url}/#/apps")
    expect(page).to_have_url(re.compile(r"#/signin\?next=%2Fapps$"))
    page.get_by_label("E-mail").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    refused = served.graphql(
        'mutation { login(email: "nobody@example.com", password: "x") { expiresAt } }'
    )["errors"][0]
    assert refused["extensions"]["code"] == "UNAUTHENTICATED"
    expect(page.get_by_test_id("signin-error")).to_have_text(refused["message"])
    shoot(page, "sign-in")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Apps", exact=True)).to_be_visible()
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["st_session"]["httpOnly"] and not cookies["st_csrf"]["httpOnly"]

    # Signing out ends the session: the next page asks for sign-in again.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"#/signin$"))
    page.goto(f"{served.base_url}/#/billing")
    expect(page).to_have_url(re.compile(r"#/signin\?next=%2Fbilling$"))
    assert script_errors(page) == []
    context.close()


# --- AI Cost ---------------------------------------------------------------------------------

SUMMARY = """query ($from: DateTime!, $to: DateTime!) {
  aiCost(from: $from, to: $to) {
    totalCostEur calls callsWithUnknownCost pricedCallShare failedCalls
    series(granularity: DAY) { start costEur calls }
    acceptedOutputs acceptanceRate costPerAcceptedOutputEur wastedSpendEur
  }
}"""

BREAKDOWN = """query ($from: DateTime!, $to: DateTime!, $by: AiCostBreakdown!) {
  aiCost(from: $from, to: $to, by: $by) {
    rows(limit: 100) { key costEur calls callsWithUnknownCost acceptedOutputs acceptanceRate }
  }
}"""


def test_the_ai_cost_page_shows_the_api_s_figures(served: Served, admin_page: Page) -> None:
    page = admin_page
    page.goto(f"{served.base_url}/#/ai-cost")
    report_box = page.get_by_test_id("ai-cost")
    expect(report_box).to_be_visible()
    span = {
        "from": report_box.get_attribute("data-from"),
        "to": report_box.get_attribute("data-to"),
    }
    report = served.data(SUMMARY, span)["aiCost"]
    assert report["calls"] > 0 and report["callsWithUnknownCost"] > 0  # the demo's mix

    expected = formatted(
        page,
        ("eur", report["totalCostEur"]),
        ("int", report["calls"]),
        ("int", report["callsWithUnknownCost"]),
        ("pct", report["pricedCallShare"]),
        ("int", report["failedCalls"]),
        ("int", report["acceptedOutputs"]),
        ("pct", report["acceptanceRate"]),
        ("eur", report["costPerAcceptedOutputEur"]),
        ("eur", report["wastedSpendEur"]),
    )
    names = ["total-cost", "calls", "unknown-calls", "priced-share", "failed-calls"]
    names += ["accepted", "acceptance-rate", "cost-per-accepted", "wasted-spend"]
    for name, text in zip(names, expected, strict=True):
        expect(page.get_by_test_id(f"stat-{name}")).to_have_text(text)
    assert expected[0].startswith("€") and expected[1] == f"{report['calls']:,}"

    # The time series: a chart, and its figures as a table.
    expect(page.locator("[data-testid=cost-chart] canvas")).to_have_count(1)
    # The README's picture (docs/ai-cost.png): the figures and the chart.
    clip: FloatRect = {"x": 0, "y": 0, "width": 1280, "height": 810}
    page.screenshot(path=str(SCREENSHOTS / "ai-cost-top.png"), clip=clip)
    page.get_by_text("Show the series as a table").click()
    series = table(page, "series-table")
    assert len(series) == len(report["series"])
    assert [row[1:3] for row in series] == [
        formatted(page, ("eur", p["costEur"]), ("int", p["calls"])) for p in report["series"]
    ]
    shoot(page, "ai-cost")

    # Each breakdown, with unknown costs shown as "unknown", never as 0.
    seen_unknown = False
    for by, label in [
        ("CUSTOMER", "Customer"),
        ("FEATURE", "Feature"),
        ("MODEL", "Model"),
        ("PROVIDER", "Provider"),
        ("PLAN", "Plan"),
        ("ENVIRONMENT", "Environment"),
        ("APP", "App"),
    ]:
        rows = served.data(BREAKDOWN, {**span, "by": by})["aiCost"]["rows"]
        page.get_by_test_id("breakdown-by").get_by_role("button", name=label).click()
        keys = ["Demo app" if by == "APP" else (r["key"] or "(none)") for r in rows]
        expect(page.locator("[data-testid=breakdown-table] tbody th")).to_have_text(keys)
        shown = [
            [cells[1], cells[2], cells[3], cells[9], cells[12]]
            for cells in table(page, "breakdown-table")
        ]
        assert shown == [
            formatted(
                page,
                ("eur", r["costEur"]),
                ("int", r["calls"]),
                ("int", r["callsWithUnknownCost"]),
                ("int", r["acceptedOutputs"]),
                ("pct", r["acceptanceRate"]),
            )
            for r in rows
        ], by
        seen_unknown |= any(r["costEur"] is None for r in rows)
        assert all(
            cells[0] == "unknown"
            for cells, r in zip(shown, rows, strict=True)
            if r["costEur"] is None
        )
    assert seen_unknown  # local:llama-3.1-8b and gpt-unknown-preview have no known cost

    # The environment filter asks the API for that environment only.
    page.locator("select[name=environment]").select_option("staging")
    staging = served.data(
        "query ($from: DateTime!, $to: DateTime!) "
        '{ aiCost(from: $from, to: $to, environment: "staging") { calls } }',
        span,
    )["aiCost"]
    expect(page.get_by_test_id("stat-calls")).to_have_text(
        formatted(page, ("int", staging["calls"]))
    )
    assert "env=staging" in page.url


# --- Organizations ---------------------------------------------------------------------------

ORGANIZATIONS = """query ($from: DateTime!, $to: DateTime!) {
  organizations(from: $from, to: $to, limit: 25) {
    customerOrgId healthScore eventCount activeUsers aiCostEur callsWithUnknownCost
  }
}"""

ORGANIZATION = """query ($id: String!, $from: DateTime!, $to: DateTime!) {
  organization(customerOrgId: $id, from: $from, to: $to) {
    healthScore eventCount activeUsers aiCostEur aiCalls
    healthSignals { signal score weight }
  }
}"""


def test_the_organizations_pages_show_the_api_s_figures(served: Served, admin_page: Page) -> None:
    page = admin_page
    page.goto(f"{served.base_url}/#/organizations")
    expect(page.get_by_test_id("organizations-table")).to_be_visible()
    box = page.locator("[data-from]")
    span = {"from": box.get_attribute("data-from"), "to": box.get_attribute("data-to")}
    orgs = served.data(ORGANIZATIONS, span)["organizations"]
    # Case-sensitive ids: the demo sends both.
    assert {"acme-corp", "Acme-Corp"} <= {o["customerOrgId"] for o in orgs}
    expect(page.locator("[data-testid=organizations-table] tbody th")).to_have_text(
        [o["customerOrgId"] for o in orgs]
    )
    shown = [cells[1:5] for cells in table(page, "organizations-table")]
    assert [[c.split(" (")[0] for c in cells] for cells in shown] == [
        [
            "—" if o["healthScore"] is None else str(o["healthScore"]),
            *formatted(
                page, ("int", o["eventCount"]), ("int", o["activeUsers"]), ("eur", o["aiCostEur"])
            ),
        ]
        for o in orgs
    ]
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    shoot(page, "organizations")

    page.get_by_role("link", name="acme-corp", exact=True).click()
    expect(page.get_by_test_id("organization-id")).to_have_text("acme-corp")
    org = served.data(ORGANIZATION, {**span, "id": "acme-corp"})["organization"]
    expect(page.get_by_test_id("stat-events")).to_have_text(
        formatted(page, ("int", org["eventCount"]))
    )
    expect(page.get_by_test_id("stat-ai-cost")).to_have_text(
        formatted(page, ("eur", org["aiCostEur"]))
    )
    expect(page.get_by_test_id("health-score")).to_have_text(str(org["healthScore"]))
    scores = [cells[2] for cells in table(page, "signals-table")]
    assert scores == [
        "—" if s["score"] is None else formatted(page, ("int", s["score"]))[0]
        for s in org["healthSignals"]
    ]
    shoot(page, "organization")

    # The growth plan's admin may edit the health model.
    page.goto(f"{served.base_url}/#/health-model")
    expect(page.get_by_test_id("health-model-form")).to_be_visible()
    expect(page.get_by_test_id("upgrade-prompt")).to_have_count(0)
    shoot(page, "health-model")


# --- Event stream ----------------------------------------------------------------------------

EVENTS = """query ($environment: String, $after: String) {
  eventsPage(environment: $environment, after: $after, limit: 50) {
    items { eventId event estimatedCostEur aiCostStatus aiPricingSource }
    nextCursor
  }
}"""


class Sockets:
    """The WebSockets a page opens while the block runs, with the messages sent and received
    on them (graphql-transport-ws: JSON objects); and the page's `eventsPage` queries."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.urls: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self.pages_asked = 0

    def _opened(self, ws: WebSocket) -> None:
        self.urls.append(ws.url)
        ws.on("framesent", lambda payload: self.sent.append(orjson.loads(payload)))
        ws.on("framereceived", lambda payload: self.received.append(orjson.loads(payload)))

    def _requested(self, request: Request) -> None:
        if request.method == "POST" and "eventsPage" in (request.post_data or ""):
            self.pages_asked += 1

    def __enter__(self) -> Sockets:
        self.page.on("websocket", self._opened)
        self.page.on("request", self._requested)
        return self

    def __exit__(self, *exc: object) -> None:
        self.page.remove_listener("websocket", self._opened)
        self.page.remove_listener("request", self._requested)

    def live_events(self) -> list[str]:
        """The ids of the events the subscription delivered."""
        return [
            m["payload"]["data"]["liveEvents"]["eventId"]
            for m in self.received
            if m.get("type") == "next" and (m["payload"].get("data") or {}).get("liveEvents")
        ]


def _expected_rows(page: Page, items: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for e in items:
        if e["estimatedCostEur"] is not None:
            cost = formatted(page, ("eur", e["estimatedCostEur"]))[0]
        elif e["event"] in ("ai_call_completed", "ai_call_failed") and e["aiCostStatus"]:
            cost = "unknown"
        else:
            cost = "—"
        rows.append([e["event"], cost, e["aiCostStatus"] or "—", e["aiPricingSource"] or "—"])
    return rows


def test_the_event_stream_pages_back_filters_tails_and_links_an_output_to_its_call(
    served: Served, admin_page: Page
) -> None:
    page = admin_page
    with Sockets(page) as sockets:
        _event_stream(served, page, sockets)


def _event_stream(served: Served, page: Page, sockets: Sockets) -> None:
    page.goto(f"{served.base_url}/#/events")
    first = served.data(EVENTS)["eventsPage"]
    expect(page.locator("[data-testid=events-table] tbody tr[data-event-id]")).to_have_count(50)
    rows = table(page, "events-table")
    assert [[r[1], r[4], r[5], r[6]] for r in rows] == _expected_rows(page, first["items"])
    shoot(page, "events")

    # Pages back: the API's second page.
    page.get_by_role("button", name="Older").click()
    second = served.data(EVENTS, {"after": first["nextCursor"]})["eventsPage"]
    expect(
        page.locator("[data-testid=events-table] tbody tr[data-event-id]").first
    ).to_have_attribute("data-event-id", second["items"][0]["eventId"])
    page.get_by_role("button", name="Newer").click()

    # The environment filter.
    page.locator("select[name=environment]").select_option("staging")
    staging = served.data(EVENTS, {"environment": "staging"})["eventsPage"]["items"]
    expect(
        page.locator("[data-testid=events-table] tbody tr[data-event-id]").first
    ).to_have_attribute("data-event-id", staging[0]["eventId"])
    assert {r[3] for r in table(page, "events-table")} == {"staging"}
    page.locator("select[name=environment]").select_option("")

    # The live tail: the subscription `liveEvents` on a WebSocket at /graphql (the session
    # cookie goes with the upgrade). An event sent now shows within seconds, without a reload,
    # delivered by the subscription, not by a query.
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    expect(page.get_by_test_id("live-status")).to_have_text("Live")
    ws_url = served.base_url.replace("http://", "ws://", 1) + "/graphql"
    assert sockets.urls and set(sockets.urls) == {ws_url}
    # The cookie authenticates: the payload names the workspace at most, never a key.
    assert sockets.sent[0]["type"] == "connection_init"
    assert "authorization" not in sockets.sent[0]["payload"]
    assert sockets.received[0] == {"type": "connection_ack"}
    page.evaluate("window.sameDocument = true")
    asked = sockets.pages_asked
    event_id = f"live-{uuid.uuid4()}"
    served.ingest(served.demo, [{"event": "live_tail_check", "event_id": event_id}])
    row = page.locator(f"tr[data-event-id='{event_id}']")
    expect(row).to_be_visible(timeout=5_000)
    expect(row).to_have_class("fresh")
    assert page.evaluate("window.sameDocument") is True
    assert event_id in sockets.live_events()
    assert sockets.pages_asked == asked
    subscribed = [m for m in sockets.sent if m["type"] == "subscribe"][-1]
    assert "liveEvents" in subscribed["payload"]["query"]
    assert subscribed["payload"]["variables"] == {
        "environment": None,
        "event": None,
        "appUuid": None,
        "customerOrgId": None,
    }

    # From an output event to the call it rates.
    output = next(
        e
        for e in served.data(
            '{ events(event: "ai_output_accepted", limit: 20) { eventId properties } }'
        )["events"]
        if e["properties"].get("ai_call_id")
    )
    page.locator("select[name=event]").select_option("ai_output_accepted")
    expect(page.locator("main .stale")).to_have_count(0)  # the filtered list, not the previous
    row = page.locator(f"tr[data-event-id='{output['eventId']}']")
    row.get_by_role("button", name="Details").click()
    page.get_by_test_id("call-link").click()
    call = page.get_by_test_id("call")
    expect(call.locator("pre.json")).to_contain_text(output["properties"]["ai_call_id"])
    expect(call.locator("tbody td").nth(1)).to_have_text(re.compile("ai_call_(completed|failed)"))
    shoot(page, "event-call")


def test_the_live_tail_sends_an_api_key_in_its_payload_and_polls_when_refused(
    served: Served, browser: Browser
) -> None:
    context = new_context(browser)
    page = watched(context)
    use_api_key(page, served.base_url, served.demo.token)
    with Sockets(page) as sockets:
        page.goto(f"{served.base_url}/#/events")
        expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    # A page cannot set headers on a WebSocket: the key goes in connection_init's payload.
    assert sockets.sent[0] == {
        "type": "connection_init",
        "payload": {"authorization": f"Bearer {served.demo.token}"},
    }

    # The server refuses live connections (4029: too many in the workspace): the page says so
    # and polls the newest page instead.
    refusal = {"code": 4029, "reason": "LIMIT_REACHED: this workspace has 20 live connections"}

    def refuse(ws: WebSocketRoute) -> None:
        ws.on_message(lambda _: ws.close(code=refusal["code"], reason=refusal["reason"]))

    page.route_web_socket(re.compile(r"/graphql$"), refuse)
    live = page.locator("input[name=live]")
    live.uncheck()
    live.check()
    expect(page.get_by_test_id("live-notice")).to_contain_text("too many live connections")
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "polling")
    event_id = f"polled-{uuid.uuid4()}"
    served.ingest(served.demo, [{"event": "live_tail_check", "event_id": event_id}])
    expect(page.locator(f"tr[data-event-id='{event_id}']")).to_be_visible(timeout=10_000)

    # A credential that no longer works (4401) goes back to sign-in.
    refusal.update(code=4401, reason="Unauthorized: Unknown or revoked token.")
    live.uncheck()
    live.check()
    expect(page).to_have_url(re.compile(r"#/signin\?next=%2Fevents$"))
    assert script_errors(page) == []
    context.close()


# --- Apps and Billing ------------------------------------------------------------------------


def test_apps_are_created_rotated_and_deactivated_through_the_cookie_session(
    served: Served, admin_page: Page
) -> None:
    page = admin_page
    page.goto(f"{served.base_url}/#/apps")
    page.get_by_label("Name").fill("Web shop")
    page.get_by_role("button", name="Add application").click()
    secret = page.get_by_test_id("secret-value")
    expect(secret).to_have_text(re.compile(r"^\S{20,}$"))
    apps = {a["name"]: a for a in served.data("{ apps { uuid name active } }")["apps"]}
    row = page.locator(f"tr[data-key='{apps['Web shop']['uuid']}']")
    expect(row).to_be_visible()
    shoot(page, "apps")
    first_secret = secret.inner_text()
    page.get_by_role("button", name="Done").click()

    row.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_test_id("secret-value")).not_to_have_text(first_secret)
    expect(row).to_contain_text("previous secret valid until")
    page.get_by_role("button", name="Done").click()

    row.get_by_role("button", name="Deactivate…").click()
    row.get_by_role("button", name="Deactivate Web shop").click()
    expect(row).to_contain_text("deactivated")
    assert not {a["name"]: a for a in served.data("{ apps { name active } }")["apps"]}["Web shop"][
        "active"
    ]

    row.get_by_role("button", name="Snippet").click()
    expect(page.get_by_test_id("tracking-snippet")).to_contain_text(apps["Web shop"]["uuid"])


def test_an_invited_member_joins_through_the_link_and_api_keys_are_created_and_revoked(
    served: Served, admin_page: Page, browser: Browser
) -> None:
    page = admin_page
    page.goto(f"{served.base_url}/#/team")
    page.get_by_test_id("invite-form").get_by_label("E-mail").fill("bo@example.com")
    page.get_by_test_id("invite-form").get_by_role("button", name="Invite").click()
    url = page.get_by_test_id("invitation-url").inner_text()
    assert url.startswith(f"{served.base_url}/#/accept-invitation?token=")

    page.get_by_test_id("api-key-form").get_by_label("Name").fill("CI export")
    page.get_by_role("button", name="Create API key").click()
    key = page.get_by_test_id("secret-value").inner_text()
    viewer = served.data("{ viewer { role } }", token=key)["viewer"]
    assert viewer["role"] == "MEMBER"  # a READ key reads like a member
    page.get_by_role("button", name="Done").click()
    page.get_by_role("button", name="Revoke CI export").click()
    expect(page.locator("[data-testid=api-keys-table] tr", has_text="CI export")).to_contain_text(
        "revoked"
    )
    assert (
        served.graphql("{ viewer { role } }", token=key)["errors"][0]["extensions"]["code"]
        == "UNAUTHENTICATED"
    )
    shoot(page, "team")

    # The invited person chooses a password and is signed in, as a member: no admin forms.
    context = new_context(browser)
    member = watched(context)
    member.goto(url)
    member.get_by_label("New password").fill(PASSWORD)
    member.get_by_label("The same again").fill(PASSWORD)
    member.get_by_role("button", name="Join").click()
    expect(member.get_by_test_id("who")).to_have_text("bo@example.com")
    member.goto(f"{served.base_url}/#/apps")
    expect(member.get_by_test_id("apps-table")).to_be_visible()
    expect(member.get_by_test_id("create-app-form")).to_have_count(0)
    members = served.data("{ members { user { email } role } }")["members"]
    assert {"user": {"email": "bo@example.com"}, "role": "MEMBER"} in members
    assert script_errors(member) == []
    context.close()


def test_the_billing_page_shows_the_viewer_s_usage_and_limits(
    served: Served, admin_page: Page
) -> None:
    page = admin_page
    page.goto(f"{served.base_url}/#/billing")
    viewer = served.data(
        "{ viewer { plan { name } eventsThisMonth eventsMonthlyLimit appsCount appsMax"
        " retentionDays overage } }"
    )["viewer"]
    events, limit, apps, apps_max, days = formatted(
        page,
        ("int", viewer["eventsThisMonth"]),
        ("int", viewer["eventsMonthlyLimit"]),
        ("int", viewer["appsCount"]),
        ("int", viewer["appsMax"]),
        ("int", viewer["retentionDays"]),
    )
    expect(page.get_by_test_id("plan-name")).to_have_text(viewer["plan"]["name"])
    expect(page.get_by_test_id("events-meter")).to_contain_text(f"{events} of {limit}")
    expect(page.get_by_test_id("apps-meter")).to_contain_text(f"{apps} of {apps_max}")
    expect(page.get_by_test_id("retention")).to_contain_text(f"{days} days")
    expect(page.get_by_test_id("overage-banner")).to_have_count(1 if viewer["overage"] else 0)
    shoot(page, "billing")


# --- Plan gating: UPGRADE_REQUIRED, LIMIT_REACHED, the empty state -----------------------------


def test_a_starter_workspace_gets_its_snippet_upgrade_prompts_and_apps_limit(
    served: Served, browser: Browser
) -> None:
    context = new_context(browser)
    page = watched(context)
    use_api_key(page, served.base_url, served.starter.token)

    # No events yet: the AI Cost page is the tracking snippet of its app.
    page.goto(f"{served.base_url}/#/ai-cost")
    expect(page.get_by_test_id("tracking-snippet")).to_contain_text(served.starter.app_uuid)
    shoot(page, "empty-state")

    # With AI calls, value signals are refused by the API with the plan that has them.
    served.ingest(
        served.starter,
        [
            {
                "event": "ai_call_completed",
                "customer_org_id": "first-customer",
                "properties": {
                    "feature": "f",
                    "provider": "openai",
                    "model": "gpt-5.4-mini",
                    "input_tokens": 1000,
                    "output_tokens": 100,
                },
            }
        ],
    )
    refusal = served.graphql("{ aiCost { acceptedOutputs } }", token=served.starter.token)[
        "errors"
    ][0]["extensions"]
    assert refusal["code"] == "UPGRADE_REQUIRED" and refusal["requiredPlan"] == "growth"
    eventually(
        lambda: (
            served.data("{ aiCost { calls } }", token=served.starter.token)["aiCost"]["calls"] == 1
        )
    )
    page.reload()
    expect(page.get_by_test_id("stat-calls")).to_have_text("1")
    prompt = page.get_by_test_id("value").get_by_test_id("upgrade-prompt")
    expect(prompt.get_by_test_id("required-plan")).to_have_text("Growth")
    shoot(page, "ai-cost-starter")

    # Over the monthly events of the plan (an operator lowered them): the banner, on each page.
    served.data(
        "mutation ($id: UUID!) {"
        " setSubscriptionOverrides(workspaceId: $id, eventsMonthlyLimit: 0) { overage } }",
        {"id": served.starter.id},
        token=served.operator_token,
    )
    page.reload()
    expect(page.get_by_test_id("overage-banner")).to_contain_text("1 of 0 this month")

    # The health model: read-only, with the plan that allows configuring it.
    page.goto(f"{served.base_url}/#/health-model")
    expect(page.get_by_test_id("health-model-table")).to_be_visible()
    expect(page.get_by_test_id("health-model-form")).to_have_count(0)
    expect(page.get_by_test_id("upgrade-prompt").get_by_test_id("required-plan")).to_have_text(
        "Growth"
    )

    # Apps: 1 of 3. One more from the page, then one behind its back: the page still offers the
    # button, and the API's LIMIT_REACHED is shown with its figures.
    page.goto(f"{served.base_url}/#/apps")
    page.get_by_label("Name").fill("Second")
    page.get_by_role("button", name="Add application").click()
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("apps-usage")).to_contain_text("2 of 3")
    served.data('mutation { createApp(name: "Third") { uuid } }', token=served.starter.token)
    page.get_by_label("Name").fill("Fourth")
    page.get_by_role("button", name="Add application").click()
    limit = page.get_by_test_id("limit-prompt")
    expect(limit).to_contain_text("allows 3 active apps (apps_max) and you use 3")
    refused = served.graphql(
        'mutation { createApp(name: "Fourth") { uuid } }', token=served.starter.token
    )["errors"][0]["extensions"]
    assert (refused["code"], refused["current"], refused["max"]) == ("LIMIT_REACHED", 3, 3)
    expect(page.get_by_role("button", name="Add application")).to_be_disabled()
    shoot(page, "apps-limit")
    assert script_errors(page) == []
    context.close()


# --- Admin portal ----------------------------------------------------------------------------


def test_the_admin_portal_lists_unmapped_models_and_creates_an_alias(
    served: Served, browser: Browser
) -> None:
    context = new_context(browser)
    page = watched(context)
    use_api_key(page, served.base_url, served.operator_token)
    expect(page).to_have_url(re.compile("#/admin$"))
    token = served.operator_token
    admin = served.data(
        "{ unmappedModels { provider model count } modelCatalog { canonicalModelKey }"
        " fxRates { currency } }",
        token=token,
    )
    unmapped = admin["unmappedModels"]
    assert unmapped
    # The page renders the table once its query answers: read it then.
    expect(page.locator("[data-testid=unmapped-table] tbody tr")).to_have_count(len(unmapped))
    shown = [r[:3] for r in table(page, "unmapped-table")]
    assert shown == [
        [m["provider"], m["model"], formatted(page, ("int", m["count"]))[0]] for m in unmapped
    ]
    expect(page.locator("[data-testid=catalog-table] tbody tr")).to_have_count(
        len(admin["modelCatalog"])
    )
    if admin["fxRates"]:
        expect(page.locator("[data-testid=fx-table] tbody tr")).to_have_count(len(admin["fxRates"]))
    shoot(page, "admin")

    model = unmapped[0]
    row = page.locator(f"tr[data-key='{model['provider']}/{model['model']}']")
    row.get_by_role("button", name="Create alias…").click()
    page.get_by_label("Catalog model").fill("openai/gpt-5.4")
    page.get_by_role("button", name="Create alias", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Alias created")
    expect(row).to_have_count(0)
    remaining = served.data("{ unmappedModels { model } }", token=token)["unmappedModels"]
    assert model["model"] not in {m["model"] for m in remaining}
    assert script_errors(page) == []
    context.close()


# --- Usable: phone width, keyboard, nothing from another host --------------------------------


def test_the_pages_fit_a_phone_and_work_from_the_keyboard(served: Served, browser: Browser) -> None:
    context = new_context(browser, width=390, height=844)
    page = watched(context)
    sign_in(page, served.base_url)
    for path in ("ai-cost", "organizations", "events", "apps", "billing"):
        page.goto(f"{served.base_url}/#/{path}")
        expect(page.locator("main .loading")).to_have_count(0)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, path
        page.screenshot(path=str(SCREENSHOTS / f"phone-{path}.png"))

    # Keyboard: the skip link comes first, the navigation next; Enter follows a link.
    page.goto(f"{served.base_url}/#/ai-cost")
    page.reload()  # a fresh load: focus starts at the top of the document
    expect(page.get_by_test_id("ai-cost")).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    focused = []
    for _ in range(8):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert "Organizations" in focused
    while page.evaluate("document.activeElement.textContent.trim()") != "Organizations":
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Organizations", exact=True)).to_be_visible()
    assert script_errors(page) == []
    context.close()


def test_graphiql_loads_its_vendored_files_under_its_policy(
    served: Served, browser: Browser
) -> None:
    """The page `VendoredGraphiQL` renders for GET /graphql, run against the real API."""
    from app.web.graphiql import graphiql_response

    context = new_context(browser)
    page = watched(context)
    ide = graphiql_response()

    def route(request_route: Any) -> None:
        if request_route.request.resource_type == "document":
            request_route.fulfill(status=200, headers=dict(ide.headers), body=ide.body)
        else:
            request_route.continue_()

    page.route(f"{served.base_url}/graphql", route)
    page.goto(f"{served.base_url}/graphql")
    page.locator(".graphiql-execute-button").click()
    expect(page.locator(".result-window")).to_contain_text("UNAUTHENTICATED")
    shoot(page, "graphiql")
    assert script_errors(page) == []
    context.close()


def test_nothing_was_loaded_from_another_host(served: Served) -> None:
    assert REQUESTED
    assert {url for url in REQUESTED if not url.startswith(served.base_url + "/")} == set()
