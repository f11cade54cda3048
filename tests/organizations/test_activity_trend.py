"""The activity trend: where it cuts the range, and that it compares rates of events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from app.organizations.health import Activity, HealthSignal, measure
from app.organizations.queries import OrganizationScope

START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def cut(span: timedelta, start: datetime = START) -> datetime:
    scope = OrganizationScope(UUID(int=1), start, start + span, retained_from=start)
    return scope.trend_cut


def trend(early: int, late: int, early_hours: int, late_hours: int) -> float | None:
    activity = Activity(
        early_events=early,
        late_events=late,
        early_ms=early_hours * 3_600_000,
        late_ms=late_hours * 3_600_000,
        active_users=1,
        accepted_outputs=0,
        rejected_outputs=0,
        edited_outputs=0,
        calls=0,
        failed_calls=0,
        costed_calls=0,
        known_cost_eur=Decimal(0),
    )
    return measure(activity)[HealthSignal.activity_trend]


def test_a_range_of_two_days_or_more_is_cut_at_the_start_of_the_day_of_its_midpoint() -> None:
    # Midpoint 2026-11-03 18:00 → cut at 2026-11-03 00:00.
    assert cut(timedelta(days=3)) == datetime(2026, 11, 3, tzinfo=UTC)


def test_a_range_under_two_days_is_cut_at_the_start_of_the_hour_of_its_midpoint() -> None:
    # Midpoint 2026-11-02 17:45 → cut at 17:00.
    assert cut(timedelta(hours=23, minutes=30)) == datetime(2026, 11, 2, 17, tzinfo=UTC)


def test_a_range_under_two_hours_is_cut_at_its_midpoint_to_the_millisecond() -> None:
    start = START + timedelta(minutes=7)
    assert cut(timedelta(minutes=90, microseconds=3001), start) == datetime(
        2026, 11, 2, 6, 52, 0, 1000, tzinfo=UTC
    )


def test_steady_traffic_scores_1_when_the_parts_are_unequal() -> None:
    # One event per hour over 18 hours before the cut and 54 after it.
    assert trend(early=18, late=54, early_hours=18, late_hours=54) == 1.0


def test_a_doubled_rate_scores_2() -> None:
    assert trend(early=10, late=40, early_hours=10, late_hours=20) == 2.0


def test_no_events_in_the_earlier_part_has_no_trend() -> None:
    assert trend(early=0, late=5, early_hours=12, late_hours=12) is None
