"""A figure of a report as a ClickHouse aggregate over a raw table, which the rollup tables
(app/store/rollups.py) store per period and key and a report merges across its sources."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    aggregate: str  # over the raw table
    merge: str  # how partial results of the aggregate add up, over the column `alias`
    # Its column in a rollup table when not the aggregate's own type: a min or max must be a
    # SimpleAggregateFunction there, or the SummingMergeTree would sum it as parts merge.
    column_type: str | None = None

    @classmethod
    def summed(cls, name: str, aggregate: str) -> Figure:
        """A figure whose partial results add up by sum (a count, a sum)."""
        return cls(name, aggregate, f"sum(f_{name})")

    @property
    def alias(self) -> str:
        # Never a column's name: ClickHouse would read the aggregate where the column is meant.
        return f"f_{self.name}"
