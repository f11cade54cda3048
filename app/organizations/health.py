"""The organization health model: which signals count, with which weights and thresholds.

ClickHouse aggregates each organization (`app.organizations.queries`); this module holds the
definitions, the documented default model, the validation of a configured one, and turns an
organization's aggregates into signal values and scores (`assess`). Scoring here rather than in
SQL: planning the scoring expressions cost ClickHouse ≈ 50 ms per page, scoring the aggregated
rows in Python costs microseconds per organization.

For each signal of the model with a measured value `v`:

    score = 100 * clamp((v - bad) / (good - bad), 0, 1)

(0 at or beyond `bad`, 100 at or beyond `good`, linear in between; for lower-is-better signals
`good` < `bad` and the same formula holds). The health score is the weighted mean of the
scores of the signals that have a value, rounded half up to a whole number:

    healthScore = floor(sum(w_i * score_i) / sum(w_i) + 0.5)   (null when sum(w_i) = 0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Any, NamedTuple

from app.errors import BadUserInput

# A weight this large is a typo, not a preference: bounded so sums stay exact in Float64.
MAX_WEIGHT = 1_000_000.0
MAX_THRESHOLD = 1e12


class HealthSignal(StrEnum):
    """A measurable signal of an organization's health over the requested range."""

    activity_trend = "activity_trend"
    active_users = "active_users"
    ai_acceptance_rate = "ai_acceptance_rate"
    error_rate = "error_rate"
    cost_per_user = "cost_per_user"

    @property
    def api_name(self) -> str:
        """The signal as the GraphQL enum `HealthSignal` spells it (ACTIVITY_TREND): the only
        spelling messages to API clients use."""
        return self.value.upper()


@dataclass(frozen=True)
class SignalDefinition:
    """What a signal measures and which way is better (fixed; only thresholds are configured)."""

    higher_is_better: bool
    is_rate: bool
    description: str


SIGNALS: Mapping[HealthSignal, SignalDefinition] = {
    HealthSignal.activity_trend: SignalDefinition(
        higher_is_better=True,
        is_rate=False,
        description=(
            "Events per hour in the later part of the range divided by events per hour in "
            "the earlier part (1 = steady, 2 = doubled); the range is cut at the start of "
            "the day holding its midpoint (of the hour, for ranges under 2 days; at the "
            "midpoint, under 2 hours). No value when the earlier part has no events."
        ),
    ),
    HealthSignal.active_users: SignalDefinition(
        higher_is_better=True,
        is_rate=False,
        description="Distinct non-empty user_hash values in the range.",
    ),
    HealthSignal.ai_acceptance_rate: SignalDefinition(
        higher_is_better=True,
        is_rate=True,
        description=(
            "ai_output_accepted / (accepted + rejected + edited) in the range; no value "
            "without output events. A value signal: only with the value_signals feature."
        ),
    ),
    HealthSignal.error_rate: SignalDefinition(
        higher_is_better=False,
        is_rate=True,
        description=(
            "ai_call_failed / (ai_call_completed + ai_call_failed) in the range; no value "
            "without AI calls."
        ),
    ),
    HealthSignal.cost_per_user: SignalDefinition(
        higher_is_better=False,
        is_rate=False,
        description=(
            "Known AI cost in EUR of the range divided by active users; no value without "
            "active users or without any AI call of known cost."
        ),
    ),
}


@dataclass(frozen=True)
class SignalSetting:
    """One signal of a model: its weight and the values that score 0 (`bad`) and 100 (`good`)."""

    signal: HealthSignal
    weight: float
    good: float
    bad: float

    def as_json(self) -> dict[str, Any]:
        return {
            "signal": self.signal.value,
            "weight": self.weight,
            "good": self.good,
            "bad": self.bad,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SignalSetting:
        return cls(
            signal=HealthSignal(data["signal"]),
            weight=float(data["weight"]),
            good=float(data["good"]),
            bad=float(data["bad"]),
        )


@dataclass(frozen=True)
class HealthModel:
    """The signals that make up the health score; a signal absent from it does not count."""

    signals: tuple[SignalSetting, ...]

    def setting(self, signal: HealthSignal) -> SignalSetting | None:
        return self._by_signal.get(signal)

    @cached_property
    def _by_signal(self) -> dict[HealthSignal, SignalSetting]:
        return {s.signal: s for s in self.signals}

    @cached_property
    def terms(self) -> tuple[tuple[HealthSignal, float, float, float], ...]:
        """(signal, weight, bad, good - bad) of each signal of the model, in the order of
        `HealthSignal`: a model scores every organization of a page (a thousand, when ordered
        by health score), so `assess` reads these once computed."""
        return tuple(
            (s.signal, s.weight, s.bad, s.good - s.bad)
            for signal in HealthSignal
            if (s := self._by_signal.get(signal)) is not None
        )

    def without(self, excluded: Iterable[HealthSignal]) -> HealthModel:
        drop = set(excluded)
        return HealthModel(tuple(s for s in self.signals if s.signal not in drop))

    def as_json(self) -> list[dict[str, Any]]:
        return [s.as_json() for s in self.signals]

    @classmethod
    def from_json(cls, data: Sequence[Mapping[str, Any]]) -> HealthModel:
        return cls(tuple(SignalSetting.from_json(item) for item in data))


DEFAULT_MODEL = HealthModel(
    (
        SignalSetting(HealthSignal.activity_trend, weight=30, good=1.0, bad=0.5),
        SignalSetting(HealthSignal.active_users, weight=25, good=10, bad=1),
        SignalSetting(HealthSignal.ai_acceptance_rate, weight=20, good=0.6, bad=0.2),
        SignalSetting(HealthSignal.error_rate, weight=15, good=0.02, bad=0.2),
        SignalSetting(HealthSignal.cost_per_user, weight=10, good=1, bad=10),
    )
)
"""The model of every workspace that has not configured its own (and of every workspace whose
plan lacks `health_model_config`)."""


def validate_model(settings: Sequence[SignalSetting]) -> HealthModel:
    """The model made of `settings`, or `BadUserInput` naming the offending field.

    Rules: at least one signal, each at most once; weights finite, ≥ 0 and summing to > 0;
    thresholds finite, `bad` and `good` different and ordered the signal's way (`bad` < `good`
    when higher is better, `good` < `bad` when lower is better); rates within [0, 1], other
    values ≥ 0.
    """
    if not settings:
        raise BadUserInput("A health model needs at least one signal.", field="signals")
    seen: set[HealthSignal] = set()
    for index, setting in enumerate(settings):
        where = f"signals[{index}]"
        if setting.signal in seen:
            raise BadUserInput(
                f"The signal '{setting.signal.api_name}' appears twice.", field=f"{where}.signal"
            )
        seen.add(setting.signal)
        if not math.isfinite(setting.weight) or not 0 <= setting.weight <= MAX_WEIGHT:
            raise BadUserInput(
                f"A weight must be between 0 and {MAX_WEIGHT:g}.", field=f"{where}.weight"
            )
        definition = SIGNALS[setting.signal]
        upper = 1.0 if definition.is_rate else MAX_THRESHOLD
        for name, value in (("good", setting.good), ("bad", setting.bad)):
            if not math.isfinite(value) or not 0 <= value <= upper:
                raise BadUserInput(
                    f"'{name}' of '{setting.signal.api_name}' must be between 0 and {upper:g}.",
                    field=f"{where}.{name}",
                )
        ordered = (
            setting.bad < setting.good
            if definition.higher_is_better
            else setting.good < setting.bad
        )
        if not ordered:
            relation = "below" if definition.higher_is_better else "above"
            raise BadUserInput(
                f"For '{setting.signal.api_name}' (higher is "
                f"{'better' if definition.higher_is_better else 'worse'}) 'bad' must be "
                f"{relation} 'good'.",
                field=f"{where}.bad",
            )
    if sum(s.weight for s in settings) <= 0:
        raise BadUserInput("The weights must sum to more than 0.", field="signals")
    return HealthModel(tuple(settings))


# Activity and Assessment are named tuples rather than frozen dataclasses: a page ordered by
# health score builds one of each for every organization of the workspace, and a named tuple
# is built in a fifth of the time.
class Activity(NamedTuple):
    """What an organization's signals are measured on: its aggregates over the range, the
    range cut in two parts (of `early_ms` and `late_ms`) for the activity trend."""

    early_events: int
    late_events: int
    early_ms: int
    late_ms: int
    active_users: int
    accepted_outputs: int
    rejected_outputs: int
    edited_outputs: int
    calls: int
    failed_calls: int
    costed_calls: int
    known_cost_eur: Decimal


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def measure(activity: Activity) -> dict[HealthSignal, float | None]:
    """Each signal's value (see `SIGNALS` for the definitions); None where it has none."""
    outputs = activity.accepted_outputs + activity.rejected_outputs + activity.edited_outputs
    attempts = activity.calls + activity.failed_calls
    return {
        # (late / late_ms) / (early / early_ms), in integers until the one division.
        HealthSignal.activity_trend: _ratio(
            activity.late_events * activity.early_ms, activity.early_events * activity.late_ms
        ),
        HealthSignal.active_users: float(activity.active_users),
        HealthSignal.ai_acceptance_rate: _ratio(activity.accepted_outputs, outputs),
        HealthSignal.error_rate: _ratio(activity.failed_calls, attempts),
        HealthSignal.cost_per_user: (
            None
            if activity.costed_calls == 0
            else _ratio(float(activity.known_cost_eur), activity.active_users)
        ),
    }


class Assessment(NamedTuple):
    """An organization's activity, its signal values, their scores under a model (None for a
    signal without a value or outside the model) and the health score."""

    activity: Activity
    values: Mapping[HealthSignal, float | None]
    scores: Mapping[HealthSignal, float | None]
    health_score: int | None


def assess(model: HealthModel, activity: Activity) -> Assessment:
    """Score `activity` under `model` (the formulas of this module's docstring)."""
    values = measure(activity)
    scores: dict[HealthSignal, float | None] = dict.fromkeys(values)
    weighted = weights = 0.0
    # In the order of `values`, like the formula's sums (floating-point sums depend on it).
    for signal, weight, bad, span in model.terms:
        value = values[signal]
        if value is None:
            continue
        scores[signal] = score = 100 * max(0.0, min(1.0, (value - bad) / span))
        weighted += weight * score
        weights += weight
    health = None if weights == 0 else math.floor(weighted / weights + 0.5)
    return Assessment(activity, values, scores, health)
