"""`saas-tracker demo`: a workspace filled with realistic traffic, sent through the real ingest.

The workspace and its app are created in the relational database the server shares; the
events go over HTTP to `POST /v1/ingest`, signed by the client SDK (`saas_tracker_client`), so
the demo exercises the same path as an integrator (signature, validation, privacy stripping,
cost resolution, queue, ClickHouse). The traffic shows every case the AI Cost page distinguishes:

- customers, one of them also sent under a case variant (`Acme-Corp` beside `acme-corp`:
  `customer_org_id` is case-sensitive, so they are two organizations, as in real data);
- features with their own models, among them a catalog model (`calculated`), a vendor alias
  (`claude-haiku-4-5-20251001`), an unmapped model (`gpt-unknown-preview`: `unknown_model`)
  and a local one (`local:llama-3.1-8b`: `missing_price` until a price is set);
- explicit costs in EUR, in USD (`estimated_cost_usd`, FX-converted) and as
  `cost_amount` + `cost_currency`;
- failed calls (with and without tokens), accepted / rejected / edited outputs linked to
  their call by `ai_call_id`, plain product events, production and staging traffic.

Deterministic for a given `seed` and `now`: event ids, calls and timestamps are all drawn
from one `random.Random`.
"""

from __future__ import annotations

import hashlib
import json
import random
import shlex
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
)
from saas_tracker_client import IngestRejected, TrackerClient

from app.accounts import service
from app.db import make_engine, session_scope
from app.errors import SaasTrackerError
from app.migrate import migrate_relational
from app.plans.service import get_plan

DEFAULT_SEED = 20_240_501
# Every event is generated in memory before sending: a demo, not a load generator.
MAX_EVENTS = 100_000
# Events per request: small enough for the progress bar to move, large enough to be quick.
REQUEST_EVENTS = 250


class DemoFailed(SaasTrackerError):
    """The demo could not run (no server, or a server on another database)."""

    code = "DEMO_FAILED"
    status = 500


@dataclass(frozen=True)
class Model:
    provider: str
    model: str
    # Rough EUR per 1M input / output tokens, only to make explicit costs plausible.
    input_eur: float
    output_eur: float
    # How this integration reports cost: None (let the server price it), "eur", "usd" or
    # "amount" (cost_amount + cost_currency).
    explicit: str | None = None


@dataclass(frozen=True)
class Feature:
    name: str
    request_type: str
    models: tuple[tuple[Model, int], ...]  # (model, weight)
    input_tokens: tuple[int, int]
    output_tokens: tuple[int, int]
    latency_ms: tuple[int, int]
    # Chance that the user gives a value signal (accept / reject / edit) on the output.
    signal_chance: float


GPT_MINI = Model("openai", "gpt-5.4-mini", 0.65, 3.9)
GPT_NANO = Model("openai", "gpt-5.4-nano", 0.17, 1.08)
GPT_UNMAPPED = Model("openai", "gpt-unknown-preview", 1.0, 4.0)
SONNET = Model("anthropic", "claude-sonnet-4-6", 2.6, 12.9)
SONNET_USD = Model("anthropic", "claude-sonnet-4-6", 2.6, 12.9, explicit="usd")
HAIKU_ALIAS = Model("anthropic", "claude-haiku-4-5-20251001", 0.86, 4.3)
GEMINI_FLASH = Model("google", "gemini-2.5-flash", 0.26, 2.15)
AZURE_GPT41 = Model("azure_openai", "gpt-4.1", 1.72, 6.88, explicit="eur")
MISTRAL_ALIAS = Model("mistral", "mistral-large-latest", 0.43, 1.29)
LLAMA_LOCAL = Model("ollama", "local:llama-3.1-8b", 0.0, 0.0)
EMBEDDING = Model("openai", "text-embedding-3-small", 0.02, 0.0, explicit="amount")

FEATURES: tuple[tuple[Feature, int], ...] = (
    (
        Feature(
            "support_reply_generator",
            "generate",
            ((GPT_MINI, 55), (SONNET, 15), (SONNET_USD, 10), (GPT_UNMAPPED, 20)),
            (600, 4000),
            (150, 900),
            (700, 4500),
            0.75,
        ),
        34,
    ),
    (
        Feature(
            "ticket_summarizer",
            "summarize",
            ((HAIKU_ALIAS, 70), (GEMINI_FLASH, 30)),
            (1500, 12000),
            (80, 400),
            (400, 2500),
            0.35,
        ),
        22,
    ),
    (
        Feature(
            "email_classifier",
            "classify",
            ((LLAMA_LOCAL, 60), (GPT_NANO, 40)),
            (200, 1200),
            (2, 20),
            (60, 400),
            0.0,
        ),
        20,
    ),
    (
        Feature(
            "semantic_search",
            "embed",
            ((EMBEDDING, 100),),
            (20, 400),
            (0, 0),
            (30, 200),
            0.0,
        ),
        12,
    ),
    (
        Feature(
            "sales_copilot",
            "chat",
            ((AZURE_GPT41, 60), (MISTRAL_ALIAS, 40)),
            (800, 6000),
            (200, 1200),
            (900, 6000),
            0.6,
        ),
        12,
    ),
)

# (customer_org_id, weight, users). "Acme-Corp" is acme-corp's EU team, whose integration
# spells the id differently: two organizations, exactly as the data says.
CUSTOMERS: tuple[tuple[str, int, int], ...] = (
    ("acme-corp", 26, 14),
    ("Acme-Corp", 5, 3),
    ("globex", 20, 9),
    ("initech", 15, 6),
    ("umbrella-health", 14, 8),
    ("hooli", 12, 5),
    ("stark-industries", 8, 4),
)
# The plan each customer is on, sent as `customer_plan` with its AI calls (the PLAN breakdown).
CUSTOMER_PLANS = {
    "acme-corp": "enterprise",
    "Acme-Corp": "team",
    "globex": "business",
    "initech": "starter",
    "umbrella-health": "business",
    "hooli": "team",
    "stark-industries": "enterprise",
}
PRODUCT_EVENTS: tuple[tuple[str, int], ...] = (
    ("session_started", 50),
    ("ticket_created", 25),
    ("report_exported", 15),
    ("seat_invited", 10),
)
ERROR_CODES: tuple[tuple[str, int], ...] = (
    ("rate_limited", 45),
    ("timeout", 30),
    ("context_length_exceeded", 15),
    ("provider_error", 10),
)
STAGING_SHARE = 0.15
FAILURE_SHARE = 0.05
PRODUCT_EVENT_SHARE = 0.15


T = TypeVar("T")


def _pick(rng: random.Random, weighted: tuple[tuple[T, int], ...]) -> T:
    return rng.choices([item for item, _ in weighted], [w for _, w in weighted])[0]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _user_hash(customer: str, index: int) -> str:
    # What integrators are told to send: a hash of their own user id, never an e-mail.
    return hashlib.sha256(f"{customer}/user-{index}".encode()).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TrafficGenerator:
    """Draws the demo's events; `events(count)` yields exactly `count` of them."""

    def __init__(self, *, rng: random.Random, now: datetime, days: int) -> None:
        self.rng = rng
        self.now = now
        self.start = now - timedelta(days=days)

    def _moment(self) -> datetime:
        # Business hours weigh more than nights, and traffic grows over the period.
        rng = self.rng
        while True:
            fraction: float = rng.random() ** 0.7  # more recent events are likelier
            moment = self.start + (self.now - self.start) * fraction
            busy = 8 <= moment.hour < 19 and moment.weekday() < 5
            if busy or rng.random() < 0.3:
                return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    def _base(self, name: str, moment: datetime) -> dict[str, Any]:
        rng = self.rng
        org, user_count = _pick(rng, tuple(((c, users), w) for c, w, users in CUSTOMERS))
        return {
            "event": name,
            "event_id": _uuid(rng),
            "timestamp": _iso(moment),
            "environment": "staging" if rng.random() < STAGING_SHARE else "production",
            "customer_org_id": org,
            "user_hash": _user_hash(org, rng.randrange(user_count)),
            "properties": {},
        }

    def events(self, count: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(out) < count:
            out.extend(self._interaction())
        del out[count:]
        out.sort(key=lambda event: event["timestamp"])
        return out

    def _interaction(self) -> Iterator[dict[str, Any]]:
        rng = self.rng
        moment = self._moment()
        if rng.random() < PRODUCT_EVENT_SHARE:
            event = self._base(_pick(rng, PRODUCT_EVENTS), moment)
            event["properties"] = {"plan_tier": rng.choice(["team", "business"])}
            yield event
            return
        feature = _pick(rng, FEATURES)
        model = _pick(rng, feature.models)
        call = self._base("ai_call_completed", moment)
        call_id = f"call_{_uuid(rng).replace('-', '')[:20]}"
        workflow = f"{feature.name.split('_')[0]}-{rng.randrange(1000, 9999)}"
        common = {
            "feature": feature.name,
            "provider": model.provider,
            "model": model.model,
            "workflow_id": workflow,
            "ai_call_id": call_id,
            "customer_plan": CUSTOMER_PLANS[call["customer_org_id"]],
        }
        latency = rng.randint(*feature.latency_ms)
        if rng.random() < FAILURE_SHARE:
            call["event"] = "ai_call_failed"
            call["properties"] = {
                **common,
                "request_type": feature.request_type,
                "latency_ms": latency * 3,
                "error_code": _pick(rng, ERROR_CODES),
                "status": "failed",
            }
            # Some providers report the prompt tokens of a failed call: they are not costed.
            if rng.random() < 0.3:
                call["properties"]["input_tokens"] = rng.randint(*feature.input_tokens)
            yield call
            return
        input_tokens = rng.randint(*feature.input_tokens)
        output_tokens = rng.randint(*feature.output_tokens)
        properties: dict[str, Any] = {
            **common,
            "request_type": feature.request_type,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "latency_ms": latency,
            "success": True,
        }
        if rng.random() < 0.25 and input_tokens > 1000:
            properties["cached_input_tokens"] = rng.randint(0, input_tokens // 2)
        cost = (input_tokens * model.input_eur + output_tokens * model.output_eur) / 1e6
        if model.explicit == "eur":
            properties["estimated_cost_eur"] = round(cost, 8)
        elif model.explicit == "usd":
            properties["estimated_cost_usd"] = round(cost / 0.86, 8)
        elif model.explicit == "amount":
            properties["cost_amount"] = round(cost / 0.86, 10)
            properties["cost_currency"] = "USD"
        call["properties"] = properties
        yield call
        if rng.random() < feature.signal_chance:
            yield self._signal(call, common)

    def _signal(self, call: dict[str, Any], common: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        called = datetime.fromisoformat(call["timestamp"])
        moment = min(called + timedelta(seconds=rng.randint(5, 900)), self.now)
        name = _pick(
            rng,
            (("ai_output_accepted", 60), ("ai_output_edited", 25), ("ai_output_rejected", 15)),
        )
        signal = {
            **call,
            "event": name,
            "event_id": _uuid(rng),
            "timestamp": _iso(moment),
            "properties": dict(common),
        }
        if name == "ai_output_edited":
            signal["properties"]["edit_ratio"] = round(rng.betavariate(2, 6), 3)
        return signal


def graphql_example(*, features: list[str], since: datetime) -> str:
    """A query worth trying on the demo data, within what the plan allows."""
    if "ai_cost_analytics" not in features:
        return (
            "query RecentEvents {\n"
            "  events(limit: 20) {\n"
            "    eventId event timestamp customerOrgId environment\n"
            "    aiCostStatus aiCanonicalModelKey estimatedCostEur\n"
            "  }\n"
            "}\n"
        )
    row_fields = (
        "key costEur calls callsWithUnknownCost inputTokens outputTokens failedCalls errorRate"
    )
    if "value_signals" in features:
        row_fields += "\n      acceptedOutputs acceptanceRate costPerAcceptedOutputEur"
    return (
        "query AiCostByModel {\n"
        f'  aiCost(from: "{_iso(since)}", by: MODEL) {{\n'
        "    totalCostEur calls callsWithUnknownCost\n"
        "    rows {\n"
        f"      {row_fields}\n"
        "    }\n"
        "  }\n"
        "}\n"
    )


def _check_server(base_url: str) -> None:
    try:
        response = httpx.get(base_url.rstrip("/") + "/healthz", timeout=5)
    except httpx.HTTPError as exc:
        raise DemoFailed(
            f"No SaaS Tracker answers at {base_url} ({type(exc).__name__}): start "
            "`saas-tracker serve` first, or pass --url."
        ) from exc
    if response.status_code != 200:
        raise DemoFailed(f"{base_url}/healthz answered {response.status_code}.")


def run_demo(
    *,
    base_url: str,
    database_url: str,
    plan: str = "growth",
    events: int = 2000,
    days: int = 30,
    progress: bool = True,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Create a demo workspace on `plan` with one app and send it `events` events spread
    over the last `days` days; returns its ids, admin token and a GraphQL query to try.

    Raises DemoFailed when no server answers at `base_url` or when it refuses the demo app
    (typically: the server uses another database than `database_url`).
    """
    if not 1 <= events <= MAX_EVENTS or days < 1:
        raise DemoFailed(f"--events must be from 1 to {MAX_EVENTS} and --days at least 1.")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    _check_server(base_url)

    engine = make_engine(database_url)
    try:
        migrate_relational(database_url, engine)  # idempotent; seeds the plans on a fresh DB
        with session_scope(engine) as session:
            features = list(get_plan(session, plan).features)
            workspace, token = service.create_workspace(
                session, name=f"Demo ({now:%Y-%m-%d %H:%M})", plan_key=plan
            )
            app = service.create_app(session, workspace_id=workspace.id, name="Demo app")
            app_uuid, api_secret = str(app.uuid), app.api_secret
    finally:
        engine.dispose()

    traffic = TrafficGenerator(rng=random.Random(seed), now=now, days=days).events(events)
    accepted: list[str] = []
    columns = (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with (
        TrackerClient(base_url, app_uuid, api_secret) as client,
        Progress(*columns, console=console or Console(stderr=True), disable=not progress) as bar,
    ):
        task = bar.add_task("Sending demo events", total=len(traffic))
        for start in range(0, len(traffic), REQUEST_EVENTS):
            chunk = traffic[start : start + REQUEST_EVENTS]
            try:
                accepted += client.track_batch(chunk)
            except IngestRejected as exc:
                if exc.status == 404:
                    raise DemoFailed(
                        "The server does not know the demo app: does it use the same database "
                        "(SAAS_TRACKER_DATABASE_URL) as this command?"
                    ) from exc
                raise
            bar.advance(task, len(chunk))

    return {
        "workspace_id": str(workspace.id),
        "token": token,
        "app_uuid": app_uuid,
        "api_secret": api_secret,
        "events_sent": len(accepted),
        "graphql_example": graphql_example(features=features, since=now - timedelta(days=days)),
    }


def format_summary(result: dict[str, Any], *, base_url: str) -> str:
    """What `saas-tracker demo` prints: the token, the query, and a curl line that runs it."""
    graphql_url = base_url.rstrip("/") + "/graphql"
    payload = json.dumps({"query": result["graphql_example"]})
    curl = (
        f"curl -sS {shlex.quote(graphql_url)} -H 'content-type: application/json' "
        f"-H {shlex.quote('authorization: Bearer ' + result['token'])} "
        f"--data-binary {shlex.quote(payload)}"
    )
    return (
        f"Demo workspace ready: {result['events_sent']} events sent.\n"
        f"  workspace_id  {result['workspace_id']}\n"
        f"  token         {result['token']}   (admin token: Authorization: Bearer …)\n"
        f"  app_uuid      {result['app_uuid']}\n"
        f"  api_secret    {result['api_secret']}   (to send more events with the snippets)\n"
        "\n"
        f"Query to try ({graphql_url}):\n\n{result['graphql_example']}\n"
        f"Or from a shell:\n\n{curl}\n"
    )
