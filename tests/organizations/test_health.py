"""The health model's validation and its stored form."""

from __future__ import annotations

import math

import pytest

from app.errors import BadUserInput
from app.organizations.health import (
    DEFAULT_MODEL,
    SIGNALS,
    HealthModel,
    HealthSignal,
    SignalSetting,
    validate_model,
)


def setting(signal: str, weight: float, good: float, bad: float) -> SignalSetting:
    return SignalSetting(HealthSignal(signal), weight=weight, good=good, bad=bad)


def test_the_default_model_is_valid_and_covers_every_signal() -> None:
    assert validate_model(DEFAULT_MODEL.signals) == DEFAULT_MODEL
    assert [s.signal for s in DEFAULT_MODEL.signals] == list(HealthSignal)
    assert sum(s.weight for s in DEFAULT_MODEL.signals) == 100


def test_thresholds_follow_each_signals_direction() -> None:
    for s in DEFAULT_MODEL.signals:
        if SIGNALS[s.signal].higher_is_better:
            assert s.bad < s.good
        else:
            assert s.good < s.bad


def test_a_model_round_trips_through_its_stored_form() -> None:
    assert HealthModel.from_json(DEFAULT_MODEL.as_json()) == DEFAULT_MODEL


def test_a_weight_of_zero_is_allowed_beside_a_positive_one() -> None:
    model = validate_model([setting("active_users", 0, 10, 1), setting("error_rate", 2, 0.01, 0.1)])
    assert [s.weight for s in model.signals] == [0, 2]


def test_without_drops_signals() -> None:
    model = DEFAULT_MODEL.without([HealthSignal.ai_acceptance_rate])
    assert model.setting(HealthSignal.ai_acceptance_rate) is None
    assert len(model.signals) == 4


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ([], "signals"),
        ([setting("active_users", math.nan, 10, 1)], "signals[0].weight"),
        ([setting("active_users", math.inf, 10, 1)], "signals[0].weight"),
        ([setting("active_users", 2_000_000, 10, 1)], "signals[0].weight"),
        ([setting("active_users", 1, math.inf, 1)], "signals[0].good"),
        ([setting("ai_acceptance_rate", 1, 1.2, 0.1)], "signals[0].good"),
        ([setting("ai_acceptance_rate", 1, 0.5, -0.1)], "signals[0].bad"),
        ([setting("cost_per_user", 1, 5, 1)], "signals[0].bad"),
        ([setting("activity_trend", 1, 0.5, 0.5)], "signals[0].bad"),
        ([setting("error_rate", 0, 0.01, 0.1)], "signals"),
    ],
)
def test_invalid_models_name_the_offending_field(settings: list[SignalSetting], field: str) -> None:
    with pytest.raises(BadUserInput) as raised:
        validate_model(settings)
    assert raised.value.details == {"field": field}
