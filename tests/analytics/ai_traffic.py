"""Crafted AI traffic for the aiCost tests, and an independent oracle of the §4 definitions.

`AiEvent` is one event as a client sent it (after ingest's cost resolution); `queued` turns it
into the row the writer receives. `Oracle` recomputes every figure in plain Python from the
events themselves — attribution by ai_call_id included — so that the pre-aggregated reports
can be compared with the definitions rather than with another SQL query.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID

import orjson

from app.ai_cost import reports as ai_cost
from app.ai_cost.attribution import ATTRIBUTION_WINDOW
from app.event_types import QueuedRow, format_timestamp

WORKSPACE = UUID("6f1b0a0e-5d8c-4a51-9c4e-3b4f6d9e0a11")
OTHER_WORKSPACE = UUID("7a2c1b1f-6e9d-4b62-8d5f-4c5a7e0f1b22")
APP = UUID("0d7e5a3c-2f1b-4c8d-9e6f-1a2b3c4d5e6f")
OTHER_APP = UUID("11111111-2222-4333-8444-555555555555")
DAY = datetime(2026, 11, 2, tzinfo=UTC)
CALL_EVENTS = ("ai_call_completed", "ai_call_failed")
OUTPUT_EVENTS = ("ai_output_accepted", "ai_output_rejected", "ai_output_edited")


@dataclass(frozen=True)
class AiEvent:
    event: str
    at: datetime
    event_id: str
    workspace_id: UUID = WORKSPACE
    app_id: UUID = APP
    environment: str = "production"
    customer: str = "acme-corp"
    feature: str = "support"
    provider: str = "openai"
    model: str = "gpt-5.4-mini"
    model_key: str = ""  # ai_canonical_model_key resolved at ingest
    cost: Decimal | None = None
    ai_call_id: str = ""
    customer_plan: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    latency_ms: float = 0.0
    edit_ratio: float | None = None

    @property
    def own_model(self) -> str:
        if self.model_key:
            return self.model_key
        if self.provider or self.model:
            return f"{self.provider}/{self.model}"
        return ""


def queued(e: AiEvent) -> QueuedRow:
    """The row the workers receive for this event (ingest's queued JSON form)."""
    properties: dict[str, Any] = {"feature": e.feature}
    for name in ("provider", "model", "ai_call_id", "customer_plan"):
        if getattr(e, name):
            properties[name] = getattr(e, name)
    for name in ("input_tokens", "output_tokens", "cached_input_tokens", "latency_ms"):
        if getattr(e, name):
            properties[name] = getattr(e, name)
    if e.edit_ratio is not None:
        properties["edit_ratio"] = e.edit_ratio
    return {
        "workspace_id": str(e.workspace_id),
        "app_id": str(e.app_id),
        "event_id": e.event_id,
        "event": e.event,
        "timestamp": format_timestamp(e.at),
        "received_at": format_timestamp(e.at),
        "environment": e.environment,
        "customer_org_id": e.customer,
        "user_hash": "u1",
        "properties": orjson.dumps(properties).decode(),
        "ai_cost_status": "calculated" if e.cost is not None else "",
        "ai_pricing_source": "global_catalog" if e.cost is not None else "none",
        "ai_canonical_model_key": e.model_key,
        "estimated_cost_eur": None if e.cost is None else format(e.cost, "f"),
    }


class Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"e{self.n:05d}"


def call(ids: Ids, at: datetime, call_id: str, *, cost: str | None, **fields: Any) -> AiEvent:
    """A completed call; its catalog key is provider/model when its cost is known."""
    event = AiEvent("ai_call_completed", at, ids(), ai_call_id=call_id, **fields)
    key = f"{event.provider}/{event.model}" if cost is not None else ""
    return replace(event, cost=None if cost is None else Decimal(cost), model_key=key)


def output(ids: Ids, signal: str, at: datetime, call_id: str, **fields: Any) -> AiEvent:
    """A value signal naming its call but, as clients often send them, not its model."""
    defaults: dict[str, Any] = {"provider": "", "model": ""}
    return AiEvent(f"ai_output_{signal}", at, ids(), ai_call_id=call_id, **{**defaults, **fields})


def random_traffic(seed: int, count: int = 400) -> list[AiEvent]:
    """Mixed traffic over four days around DAY: every dimension, unknown costs, failures,
    outputs with and without their call's fields, outputs naming missing, duplicated or
    too-distant calls, case-variant customer ids and another workspace."""
    rng = random.Random(seed)
    ids = Ids()
    customers = ["acme-corp", "Acme-Corp", "globex", ""]
    plans = ["", "", "pro", "team"]
    features = ["support", "summary", "search"]
    models = [("openai", "gpt-5.4-mini"), ("anthropic", "claude-sonnet-4-6"), ("acme-llm", "x")]
    events: list[AiEvent] = []
    calls: list[AiEvent] = []
    for _ in range(count):
        at = DAY - timedelta(days=1) + timedelta(seconds=rng.randrange(4 * 86_400))
        common: dict[str, Any] = {
            "app_id": rng.choice([APP, APP, OTHER_APP]),
            "environment": rng.choice(["production", "production", "staging"]),
            "customer": rng.choice(customers),
            "customer_plan": rng.choice(plans),
            "feature": rng.choice(features),
        }
        provider, model = rng.choice(models)
        roll = rng.random()
        if roll < 0.5 or not calls:
            unknown = model == "x" or rng.random() < 0.1
            cost = None if unknown else str(Decimal(rng.randrange(1, 50_000)) / 1_000_000)
            # A few calls reuse an id: the earliest of them owns its outputs.
            call_id = rng.choice([c.ai_call_id for c in calls]) if calls and roll < 0.03 else ""
            made = call(
                ids,
                at,
                call_id or f"c{ids.n + 1}",
                cost=cost,
                provider=provider,
                model=model,
                input_tokens=rng.randrange(0, 5000),
                output_tokens=rng.randrange(0, 2000),
                cached_input_tokens=rng.randrange(0, 500),
                latency_ms=rng.choice([0.0, float(rng.randrange(50, 20_000))]),
                **common,
            )
            calls.append(made)
            events.append(made)
        elif roll < 0.58:
            paid = rng.random() < 0.3
            events.append(
                AiEvent(
                    "ai_call_failed",
                    at,
                    ids(),
                    ai_call_id=f"f{ids.n}",
                    provider=provider,
                    model=model,
                    cost=Decimal("0.0005") if paid else None,
                    input_tokens=100 if paid else 0,
                    latency_ms=8500.0,
                    **common,
                )
            )
        else:
            signal = rng.choice(["accepted", "accepted", "rejected", "edited"])
            named = rng.choice(calls)
            call_id = rng.choice([named.ai_call_id] * 8 + ["missing-call", ""])
            later = named.at + timedelta(seconds=rng.randrange(-600, 7200))
            fields: dict[str, Any] = {**common, "feature": rng.choice(features)}
            if rng.random() < 0.5:
                fields.update(provider=provider, model=model)
            if signal == "edited":
                fields["edit_ratio"] = rng.choice([None, rng.random(), 0.0, 1.0])
            events.append(output(ids, signal, later, call_id, **fields))
    # Beyond the attribution window: this output keeps its own fields.
    far = call(ids, DAY - timedelta(days=9), "far-call", cost="0.5", feature="far")
    events += [far, output(ids, "accepted", DAY + timedelta(hours=5), "far-call", feature="own")]
    # Another workspace's traffic, with the same call ids.
    events += [
        replace(e, workspace_id=OTHER_WORKSPACE, event_id=f"x{e.event_id}", feature="intruder")
        for e in events[:40]
    ]
    return events


# --- the oracle ------------------------------------------------------------------------------


@dataclass
class Row:
    """The §4 figures of one group of events, computed directly."""

    known_cost: Decimal = Decimal(0)
    costed: int = 0
    calls: int = 0
    unknown: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    call_tokens: int = 0
    priced_call_tokens: int = 0
    failed_cost: Decimal = Decimal(0)
    rejected_cost: Decimal = Decimal(0)
    accepted: int = 0
    rejected: int = 0
    edited: int = 0
    latencies: list[float] = field(default_factory=list)
    edit_buckets: dict[int, int] = field(default_factory=dict)

    def add(self, e: AiEvent, call_cost: Decimal | None) -> None:
        if e.event in CALL_EVENTS:
            self.input_tokens += e.input_tokens
            self.output_tokens += e.output_tokens
            self.cached_input_tokens += e.cached_input_tokens
            if e.cost is not None:
                self.known_cost += e.cost
                self.costed += 1
        if e.event == "ai_call_completed":
            self.calls += 1
            self.call_tokens += e.input_tokens + e.output_tokens
            if e.cost is None:
                self.unknown += 1
            else:
                self.priced_call_tokens += e.input_tokens + e.output_tokens
            if e.latency_ms > 0:
                self.latencies.append(e.latency_ms)
        elif e.event == "ai_call_failed":
            self.failed += 1
            if e.cost is not None:
                self.failed_cost += e.cost
        elif e.event == "ai_output_accepted":
            self.accepted += 1
        elif e.event == "ai_output_rejected":
            self.rejected += 1
            if call_cost is not None:
                self.rejected_cost += call_cost
        elif e.event == "ai_output_edited":
            self.edited += 1
            if e.edit_ratio is not None:
                bucket = min(int(e.edit_ratio * 10), 9)
                self.edit_buckets[bucket] = self.edit_buckets.get(bucket, 0) + 1

    def percentile(self, level: float) -> float | None:
        """The smallest latency L with a share `level` of the calls at most L."""
        values = sorted(self.latencies)
        for index, value in enumerate(values, start=1):
            if index >= level * len(values):
                return value
        return None


@dataclass(frozen=True)
class Attributed:
    event: AiEvent
    dims: Mapping[str, str]  # the dimension values the event counts under
    call_cost: Decimal | None


class Oracle:
    """§4 over a list of events, straight from the definitions."""

    def __init__(self, events: Sequence[AiEvent], org_plans: Mapping[str, str]) -> None:
        self.org_plans = org_plans
        self.attributed = [self._attribute(e, events) for e in events]

    @staticmethod
    def _dims(e: AiEvent) -> dict[str, str]:
        return {
            "app": str(e.app_id),
            "environment": e.environment,
            "customer": e.customer,
            "plan_property": e.customer_plan,
            "feature": e.feature,
            "provider": e.provider,
            "model": e.own_model,
        }

    def _attribute(self, e: AiEvent, events: Sequence[AiEvent]) -> Attributed:
        if e.event in OUTPUT_EVENTS and e.ai_call_id:
            candidates = [
                c
                for c in events
                if c.event == "ai_call_completed"
                and c.workspace_id == e.workspace_id
                and c.ai_call_id == e.ai_call_id
                and abs(c.at - e.at) <= ATTRIBUTION_WINDOW
            ]
            if candidates:
                best = min(candidates, key=lambda c: (c.at, c.event_id))
                return Attributed(e, self._dims(best), best.cost)
        return Attributed(e, self._dims(e), None)

    def key(self, a: Attributed, by: ai_cost.Breakdown) -> str:
        if by is ai_cost.Breakdown.PLAN:
            return a.dims["plan_property"] or self.org_plans.get(a.dims["customer"], "")
        return a.dims[by.value]

    def selected(self, scope: ai_cost.AiScope) -> list[Attributed]:
        wanted = {
            "environment": scope.environment,
            "app": None if scope.app_id is None else str(scope.app_id),
            "customer": scope.customer_org_id,
            "feature": scope.feature,
            "model": scope.model,
            "provider": scope.provider,
        }
        return [
            a
            for a in self.attributed
            if a.event.workspace_id == scope.workspace_id
            and scope.start <= a.event.at < scope.end
            and all(v is None or a.dims[k] == v for k, v in wanted.items())
        ]

    def group(
        self, scope: ai_cost.AiScope, key: Callable[[Attributed], Any] = lambda a: None
    ) -> dict[Any, Row]:
        rows: dict[Any, Row] = {}
        for a in self.selected(scope):
            rows.setdefault(key(a), Row()).add(a.event, a.call_cost)
        return rows


def assert_figures(found: ai_cost.AiCostFigures, expected: Row, where: str = "") -> None:
    """Every figure equal to the oracle's; latency percentiles within 1 %."""
    actual = {
        "known_cost": found.known_cost_eur,
        "costed": found.costed_events,
        "calls": found.calls,
        "unknown": found.calls_with_unknown_cost,
        "failed": found.failed_calls,
        "input_tokens": found.input_tokens,
        "output_tokens": found.output_tokens,
        "cached_input_tokens": found.cached_input_tokens,
        "call_tokens": found.call_tokens,
        "priced_call_tokens": found.priced_call_tokens,
        "failed_cost": found.failed_cost_eur,
        "rejected_cost": found.rejected_cost_eur,
        "accepted": found.accepted_outputs,
        "rejected": found.rejected_outputs,
        "edited": found.edited_outputs,
        "edit_buckets": {k: v for k, v in found.edit_ratio_histogram.items() if v},
        "latency_calls": found.latency.calls,
    }
    wanted = {name: getattr(expected, name) for name in actual if hasattr(expected, name)}
    wanted["latency_calls"] = len(expected.latencies)
    assert actual == wanted, where
    latency = found.latency
    for level, value in zip(
        ai_cost.LATENCY_LEVELS,
        (latency.p50_ms, latency.p90_ms, latency.p95_ms, latency.p99_ms),
        strict=True,
    ):
        exact = expected.percentile(level)
        if exact is None:
            assert value is None, where
        else:
            assert value is not None and abs(value - exact) <= 0.01 * exact, (where, level)
    # The derived figures follow from the same sums.
    if expected.accepted and expected.costed:
        per = (expected.known_cost / expected.accepted).quantize(
            ai_cost.COST_QUANTUM, rounding=ROUND_HALF_EVEN
        )
        assert found.cost_per_accepted_output_eur == per, where
    else:  # no accepted output, or no known cost among the row's events
        assert found.cost_per_accepted_output_eur is None, where
    assert found.wasted_spend_eur == expected.failed_cost + expected.rejected_cost, where


def batches(events: Iterable[AiEvent], seed: int, size: int = 37) -> list[list[QueuedRow]]:
    """The events in a shuffled order, cut in batches: outputs often arrive before their call."""
    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    rows = [queued(e) for e in shuffled]
    return [rows[i : i + size] for i in range(0, len(rows), size)]
