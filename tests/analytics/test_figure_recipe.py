"""docs/changing-a-figure.md, followed once for a made-up figure on a copy of a migrated
database: the figure defined in code, the schema check failing on it, a new numbered migration
rendered as the recipe says (columns, views created again, backfill) and applied by the
migrator, after which the schema check passes and every rollup holds the figure the oracle
computes from the events, for the rows stored before the migration and after it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from app.ai_cost.figures import FIGURES
from app.ai_cost.rollups import FIGURE_ROLLUPS
from app.store.figure import Figure
from app.store.interface import AnalyticsStore, open_store
from app.store.migrations import (
    CLICKHOUSE_MIGRATIONS_DIR,
    figure_migration_sql,
    load_migrations,
    migrate,
)
from app.workers.rollups import ROLLUPS
from app.workers.writer import EventWriter
from tests.analytics.ai_traffic import DAY, AiEvent, Ids, call, queued
from tests.analytics.rollup_schema import differences, value_types
from tests.conftest import CHDB_FOLDER

# Step 1 of the recipe: the figure, as it would be added to FIGURES (app/ai_cost/figures.py).
CACHED_CALLS = Figure.summed(
    "cached_calls", "countIf(event = 'ai_call_completed' AND cached_input_tokens > 0)"
)


def oracle(events: list[AiEvent]) -> int:
    """Step 4: the figure straight from its definition, over the events as the client sent them
    (for a real figure: a field of `Row` in tests/analytics/ai_traffic.py)."""
    return sum(e.event == "ai_call_completed" and e.cached_input_tokens > 0 for e in events)


# The AI figure rollups as the code would define them with the figure (step 1), and every
# rollup the writer keeps, with those in place of today's.
WITH_FIGURE = tuple(replace(r, figures=(*FIGURES, CACHED_CALLS)) for r in FIGURE_ROLLUPS)
ALL_WITH_FIGURE = tuple(
    WITH_FIGURE[FIGURE_ROLLUPS.index(r)] if r in FIGURE_ROLLUPS else r for r in ROLLUPS
)


def _no_dead_letters(row: object, reason: str) -> None:
    raise AssertionError(f"dead-lettered: {reason}")


def _write(store: AnalyticsStore, events: list[AiEvent]) -> None:
    assert EventWriter(store, _no_dead_letters).write([queued(e) for e in events]).inserted


@pytest.fixture
def store(own_clickhouse_database: str) -> Iterator[AnalyticsStore]:
    opened = open_store(f"chdb://{CHDB_FOLDER}?database={own_clickhouse_database}")
    yield opened
    opened.close()


@pytest.fixture
def scratch(store: AnalyticsStore) -> Iterator[AnalyticsStore]:
    empty = open_store(f"chdb://{CHDB_FOLDER}?database={store.database}_expected")
    yield empty
    empty.command(f"DROP DATABASE IF EXISTS {empty.database}")


def test_a_new_figure_reaches_every_rollup_through_a_new_migration(
    store: AnalyticsStore, scratch: AnalyticsStore, tmp_path: Path
) -> None:
    ids = Ids()
    before = [
        call(ids, DAY + timedelta(hours=1), "c1", cost="0.01", cached_input_tokens=100),
        call(ids, DAY + timedelta(hours=2), "c2", cost=None, cached_input_tokens=0),
        call(ids, DAY + timedelta(days=1), "c3", cost="0.02", cached_input_tokens=20),
        AiEvent("ai_call_failed", DAY + timedelta(hours=3), ids(), cached_input_tokens=50),
    ]
    _write(store, before)  # rows stored before the migration: the backfill must count them

    # Step 2: without its migration, the schema check names each table and view it misses.
    missing = differences(store, scratch, ALL_WITH_FIGURE)
    for rollup in FIGURE_ROLLUPS:
        assert (
            f"{rollup.name}: column f_cached_calls is missing (the code defines it as UInt64)"
        ) in missing
        assert (
            f"{rollup.name}_view: column f_cached_calls is missing (the code computes "
            "`countIf((event = 'ai_call_completed') AND (cached_input_tokens > 0)) "
            "AS f_cached_calls`)"
        ) in missing
    assert len(missing) == 2 * len(FIGURE_ROLLUPS)

    # Step 3: the migration, rendered once into a new numbered file beside the others.
    folder = tmp_path / "clickhouse"
    shutil.copytree(CLICKHOUSE_MIGRATIONS_DIR, folder)
    number = max(m.version for m in load_migrations()) + 1
    column_type = value_types(store, WITH_FIGURE[0])["f_cached_calls"]
    assert column_type == "UInt64"
    text = figure_migration_sql(
        WITH_FIGURE,
        {"f_cached_calls": column_type},
        why="The calls that read cached input tokens, in every AI rollup.",
    )
    name = f"{number:03d}_ai_cached_calls"
    (folder / f"{name}.sql").write_text(text)
    assert migrate(store, directory=folder) == [name]
    assert migrate(store, directory=folder) == []

    assert differences(store, scratch, ALL_WITH_FIGURE) == []
    after = [
        call(ids, DAY + timedelta(hours=4), "c4", cost="0.03", cached_input_tokens=10),
        call(ids, DAY + timedelta(hours=5), "c5", cost="0.04", cached_input_tokens=0),
    ]
    _write(store, after)  # rows stored after it: the view created again counts them
    from_rows = store.query(f"SELECT {CACHED_CALLS.aggregate} AS n FROM ai_usage_events")[0]["n"]
    assert from_rows == oracle(before + after) == 3
    for rollup in FIGURE_ROLLUPS:
        rolled = store.query(f"SELECT sum(f_cached_calls) AS n FROM {rollup.name}")
        assert rolled == [{"n": 3}], rollup.name
