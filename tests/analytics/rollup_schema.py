"""What the code expects of the rollup tables and their views (app/store/rollups.py and the
figures it stores), compared with what a migrated database holds.

The expected tables are created, as `table_sql` renders them today, in a scratch database, and
their columns read back from the engine (so that types compare as the engine writes them); the
expected SELECT of each view is `select_sql` as the engine formats it. A figure changed in code
without a new migration shows up here as one line naming the table (or view) and the column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.store.interface import AnalyticsStore
from app.store.rollups import Rollup, select_sql, table_sql, view_name
from app.workers.rollups import ROLLUPS

_Column = tuple[str, str, str, str]  # name, type, default kind, default expression


def value_types(store: AnalyticsStore, rollup: Rollup) -> dict[str, str]:
    """The type of each figure's aggregate over the rollup's source, as `store` computes it."""
    if not rollup.figures:
        return {}
    aggregates = ", ".join(f"{f.aggregate} AS {f.alias}" for f in rollup.figures)
    rows = store.query(f"DESCRIBE (SELECT {aggregates} FROM {rollup.source})")
    return {str(row["name"]): str(row["type"]) for row in rows}


def _columns(store: AnalyticsStore, database: str) -> dict[str, list[_Column]]:
    rows = store.query(
        "SELECT table, name, type, default_kind, default_expression FROM system.columns "
        "WHERE database = {db:String} ORDER BY table, position",
        {"db": database},
    )
    tables: dict[str, list[_Column]] = {}
    for r in rows:
        column = (r["name"], r["type"], r["default_kind"], r["default_expression"])
        tables.setdefault(r["table"], []).append(column)
    return tables


def _tables(store: AnalyticsStore, database: str) -> dict[str, dict[str, str]]:
    rows = store.query(
        "SELECT name, sorting_key, as_select, create_table_query FROM system.tables "
        "WHERE database = {db:String}",
        {"db": database},
    )
    return {str(r["name"]): {k: str(v) for k, v in r.items()} for r in rows}


def _top_level(text: str, separator: str) -> list[str]:
    """`text` cut at each `separator` outside parentheses, brackets and quotes."""
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        if char in "'`\"":
            i += 1
            while i < len(text) and text[i] != char:
                i += 2 if text[i] == "\\" else 1
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif depth == 0 and text.startswith(separator, i):
            pieces.append(text[start:i])
            start = i = i + len(separator)
            continue
        i += 1
    pieces.append(text[start:])
    return pieces


def _select_items(select: str) -> tuple[dict[str, str], str]:
    """The items of a one-line SELECT by name (its alias, or the column it names), and the rest
    of the query from its FROM."""
    head, *rest = _top_level(select.removeprefix("SELECT "), " FROM ")
    items = {}
    for item in _top_level(head, ", "):
        aliased = re.match(r"^(.*) AS (\w+)$", item, re.S)
        items[aliased[2] if aliased else item] = item
    return items, " FROM ".join(rest)


def _formatted(store: AnalyticsStore, sql: str) -> str:
    return str(store.query("SELECT formatQuerySingleLine({q:String}) AS q", {"q": sql})[0]["q"])


def _described(column: _Column) -> str:
    _, type_, kind, expression = column
    return f"{type_} {kind} {expression}" if kind else type_


def _table_differences(name: str, found: list[_Column], expected: list[_Column]) -> list[str]:
    have = {c[0]: c for c in found}
    want = {c[0]: c for c in expected}
    lines = [
        f"{name}: column {n} is missing (the code defines it as {_described(want[n])})"
        for n in want.keys() - have.keys()
    ]
    lines += [f"{name}: column {n} is not defined by the code" for n in have.keys() - want.keys()]
    lines += [
        f"{name}: column {n} is {_described(have[n])} where the code defines {_described(want[n])}"
        for n in want.keys() & have.keys()
        if have[n] != want[n]
    ]
    if not lines and found != expected:
        # INSERT … SELECT (a backfill, a repair) fills the columns by position.
        lines.append(
            f"{name}: columns in the order {[c[0] for c in found]}, "
            f"where the code's is {[c[0] for c in expected]}"
        )
    return sorted(lines)


def _view_differences(view: str, found: str, expected: str) -> list[str]:
    have, have_rest = _select_items(found)
    want, want_rest = _select_items(expected)
    lines = [
        f"{view}: column {n} is missing (the code computes `{want[n]}`)"
        for n in want.keys() - have.keys()
    ]
    lines += [
        f"{view}: column {n} (`{have[n]}`) is not defined by the code"
        for n in have.keys() - want.keys()
    ]
    lines += [
        f"{view}: column {n} is computed as `{have[n]}` where the code says `{want[n]}`"
        for n in want.keys() & have.keys()
        if have[n] != want[n]
    ]
    if have_rest != want_rest:
        lines.append(f"{view}: reads `FROM {have_rest}` where the code says `FROM {want_rest}`")
    if not lines and found != expected:
        lines.append(f"{view}: SELECT is `{found}` where the code says `{expected}`")
    return sorted(lines)


def differences(
    store: AnalyticsStore, scratch: AnalyticsStore, rollups: Sequence[Rollup] = ROLLUPS
) -> list[str]:
    """Each way `store`'s rollup tables and views differ from what the code creates today, one
    line per table or view column (sorting keys and view targets too); [] when they agree.
    `scratch` is an empty database of the same engine, where the expected tables are created."""
    types: dict[tuple[str, bool], dict[str, str]] = {}  # rollups of one source share figures
    for rollup in rollups:
        key = (rollup.source, rollup.histogram)
        if key not in types:
            types[key] = value_types(store, rollup)
        scratch.command(f"DROP TABLE IF EXISTS {rollup.name}")
        scratch.command(table_sql(rollup, types[key]))
    found_columns = _columns(store, store.database)
    expected_columns = _columns(scratch, scratch.database)
    found_tables = _tables(store, store.database)
    expected_tables = _tables(scratch, scratch.database)
    lines: list[str] = []
    for rollup in rollups:
        name, view = rollup.name, view_name(rollup)
        if name not in found_tables:
            lines.append(f"{name}: no such table")
            continue
        lines += _table_differences(name, found_columns[name], expected_columns[name])
        have_key, want_key = found_tables[name]["sorting_key"], expected_tables[name]["sorting_key"]
        if have_key != want_key:
            lines.append(f"{name}: sorted by ({have_key}) where the code says ({want_key})")
        if view not in found_tables:
            lines.append(f"{view}: no such view")
            continue
        created = found_tables[view]["create_table_query"]
        if f" TO {store.database}.{name} " not in created:
            lines.append(f"{view}: does not feed {name}: {created[:120]}")
        # The view's SELECT as stored names its source with the database.
        found = found_tables[view]["as_select"].replace(f" FROM {store.database}.", " FROM ")
        lines += _view_differences(view, found, _formatted(store, select_sql(rollup)))
    return lines
