"""The one retention helper: where raw data stops being shown and kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from app.accounts.retention import (
    clamp_optional_range,
    clamp_range,
    retention_start,
    workspace_retention_start,
)
from app.accounts.service import create_workspace
from app.plans.service import limits_for

NOW = datetime(2026, 11, 23, 12, 30, 15, 123456, tzinfo=UTC)


def test_retention_start_is_now_minus_the_days_to_the_millisecond() -> None:
    assert retention_start(30, NOW) == datetime(2026, 10, 24, 12, 30, 15, 123000, tzinfo=UTC)


def test_retention_start_follows_the_plan_and_its_override(session: Session) -> None:
    workspace, _ = create_workspace(session, name="Acme", plan_key="free")
    assert retention_start(limits_for(session, workspace), NOW) == retention_start(30, NOW)
    workspace.override_retention_days = 7
    assert retention_start(limits_for(session, workspace), NOW) == retention_start(7, NOW)
    assert workspace_retention_start(
        session, workspace_id=workspace.id, now=NOW
    ) == retention_start(7, NOW)


def test_a_range_inside_the_retention_is_unchanged() -> None:
    floor = NOW - timedelta(days=30)
    start, end = NOW - timedelta(days=10), NOW
    assert clamp_range(start, end, not_before=floor) == (start, end)


def test_a_range_reaching_before_the_retention_starts_at_it() -> None:
    floor = NOW - timedelta(days=30)
    assert clamp_range(NOW - timedelta(days=90), NOW, not_before=floor) == (floor, NOW)


def test_a_range_wholly_before_the_retention_is_empty() -> None:
    floor = NOW - timedelta(days=30)
    start, end = clamp_range(NOW - timedelta(days=90), NOW - timedelta(days=60), not_before=floor)
    assert (start, end) == (floor, floor)


def test_optional_bounds() -> None:
    floor = NOW - timedelta(days=30)
    assert clamp_optional_range(None, None, not_before=floor) == (floor, None)
    assert clamp_optional_range(None, NOW, not_before=floor) == (floor, NOW)
    inside = NOW - timedelta(days=1)
    assert clamp_optional_range(inside, None, not_before=floor) == (inside, None)
    old_end = NOW - timedelta(days=40)
    assert clamp_optional_range(None, old_end, not_before=floor) == (floor, floor)
