"""Released ClickHouse migrations are frozen text, and migrating gives what the code expects.

A database migrated last year ran the statements of each file as they were then; the same file
must run the same statements now, so a released file's statements never change (its comments
may). A figure changed in code therefore needs a new numbered migration (docs/changing-a-figure.md),
and the second test fails until it exists: it compares the rollup tables and views a fresh
migration leaves with those the code (app/store/rollups.py and its figures) would create.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace

import pytest

from app.organizations.figures import ORGANIZATION_FIGURES
from app.store.events_table import EVENTS_TABLE
from app.store.figure import Figure
from app.store.interface import AnalyticsStore, open_store
from app.store.migrations import Migration, load_migrations
from app.workers.rollups import ROLLUPS
from tests.analytics.rollup_schema import differences

# The SHA-256 of each released migration's statements (`digest`). A new migration is added
# here once it is released; an existing line never changes.
FROZEN = {
    "001_events": "7f933c9e3aa01a1e2d57c5b393706b659631ea51069cc675bc3a8638a1f38953",
    "002_ai_usage_events": "f70647069fd795e2a5b226b2199860ae4a6c4609d7b2f2568cedfd3b7d19d8f7",
    "003_ai_usage_cost_resolution": (
        "dc67c83ebce9b5b3e4260451ec424eb4d9971d7cdc8ebe0d2264d5def0b64ae8"
    ),
    "004_event_id_indexes": "b1d404142f76c87b61a2e50ceef522fd5dd2ee14d5997ac588b1cce3d7fef2d7",
    "005_ai_usage_preaggregation": (
        "2e7ada11c5b8ee6cfe112cfa7a8360308f93f1d5076981101672be43e4dcd78c"
    ),
    "006_organization_plans": "745ff65f6d10349658f4f5bfb5302fb77d89f9ccb2ac8a762249b470af329f1b",
    "007_retention_lightweight_deletes": (
        "3d2e1aa56e8b3952ef3813235621282f49e9bbe1c5ee273c4cb944915a622bd6"
    ),
    "008_ai_usage_smaller_projections": (
        "e044c71662c18aef20080e2fe4f06a6d730a8dd05567df69dbc93da5dfe4eefb"
    ),
    "009_organization_projections": (
        "18bd3cef0397766c8f0c4da49ef090ea47af46530d19deacd241a0a3760f4eaa"
    ),
    "010_events_received_at_index": (
        "1e4ce17502965b5bc1b3483125d3f95e543eda51335df356604b893cc85d5424"
    ),
    "011_organization_projections_cheaper_states": (
        "a3250618a5be4f8781492c0f1b4ce37f9b321fe3fefdecf9d971944c45de2e1a"
    ),
    "012_ai_latency_histograms": (
        "96876320c0e64605e694c6ef826c2de6f746333a0199caa99c4d90fa6ce017a5"
    ),
    "013_ai_rollup_tables": "4b822299a7f95082341862817d8cbb9b5a548fdff9ccb81f5df1b24e926f3d20",
    "014_organization_rollup_tables": (
        "2c207c0df430e5461340755e9202dcc98181890e87d5135931205928f5072c2a"
    ),
    "015_ai_latency_weekly_and_hourly_plan": (
        "a3ad19830acd8e8c0722afc0917a277e089f49ef745c7070a30051e60585b18d"
    ),
}


def digest(migration: Migration) -> str:
    """Of the statements as the migrator runs them: comments and blank lines do not count."""
    return hashlib.sha256("\n;\n".join(migration.statements).encode()).hexdigest()


@pytest.mark.parametrize("migration", load_migrations(), ids=lambda m: m.name)
def test_a_released_migration_runs_the_statements_it_ran_when_it_was_released(
    migration: Migration,
) -> None:
    assert migration.name in FROZEN, (
        f"{migration.name} is not frozen yet: once it is released, add "
        f'"{migration.name}": "{digest(migration)}" to FROZEN in {__name__}'
    )
    assert digest(migration) == FROZEN[migration.name], (
        f"the statements of {migration.name} changed after it was released: databases that "
        "applied it will never run it again. Restore it and write a new numbered migration "
        "(docs/changing-a-figure.md)"
    )


def test_every_frozen_migration_is_still_there() -> None:
    assert sorted(FROZEN) == [m.name for m in load_migrations()][: len(FROZEN)]


@pytest.fixture
def scratch(store: AnalyticsStore, clickhouse_url: str) -> Iterator[AnalyticsStore]:
    """An empty database beside the test's, for the tables the code would create."""
    empty = open_store(clickhouse_url, database=f"{store.database}_expected")
    try:
        yield empty
    finally:
        empty.command(f"DROP DATABASE IF EXISTS {empty.database}")


def test_the_migrated_rollups_are_what_the_code_would_create(
    store: AnalyticsStore, scratch: AnalyticsStore
) -> None:
    """Fails, naming the table or view and the column, when a figure (or a rollup's keys) was
    changed in code without the migration that brings it to the databases."""
    found = differences(store, scratch)
    assert found == [], (
        "the migrated schema is not what the code expects; write a new migration "
        "(docs/changing-a-figure.md):\n" + "\n".join(found)
    )


def test_a_figure_changed_in_code_alone_is_named_with_its_tables(
    store: AnalyticsStore, scratch: AnalyticsStore
) -> None:
    changed = tuple(
        Figure.summed("calls", "countIf(event IN ('ai_call_completed', 'ai_call_failed'))")
        if f.name == "calls"
        else f
        for f in ORGANIZATION_FIGURES
    )
    rollups = [replace(r, figures=changed) if r.source == EVENTS_TABLE else r for r in ROLLUPS]
    assert differences(store, scratch, rollups) == [
        f"{table}_view: column f_calls is computed as "
        "`countIf(event = 'ai_call_completed') AS f_calls` where the code says "
        "`countIf(event IN ('ai_call_completed', 'ai_call_failed')) AS f_calls`"
        for table in ("organizations_daily", "organizations_hourly")
    ]
