"""The layout shows the architecture: every import under app/ points down the data's way, no
two packages import each other (directly or round a loop), and GraphQL resolvers run no SQL.

The data's way: ingest → pricing → queue → workers → store; graphql → services → store. The
rank table below places each top-level package or module of app/ on one layer; a module may
import its own package and anything on its layer or below, never above (siblings of one layer
are kept apart by the cycle check). Imports inside functions count too.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

# Layer of each top-level package or module of app/ (higher may import lower).
RANKS: dict[str, int] = {
    # 0 — foundation: configuration, the root error, DB helpers, metrics, and the neutral event
    # types that ingest, pricing, the queues, the workers and the store all share.
    "settings": 0,
    "errors": 0,
    "db": 0,
    "metrics": 0,
    "log_config": 0,
    "event_types": 0,
    "cache_versions": 0,
    "audit": 0,
    "served_address": 0,
    "snippets": 0,
    "relational_migrations": 0,
    # 1 — the ClickHouse store: interface, backends, migrations, the events table, rollup machinery.
    "store": 1,
    # 2 — the plans catalog (a workspace is on a plan, so plans sit below accounts).
    "plans": 2,
    # 3 — workspaces, apps, people, tokens, subscriptions, the audit log's reads.
    "accounts": 3,
    # 4 — feature services over accounts and the store: pricing, the report families.
    "pricing": 4,
    "organizations": 4,
    "ai_cost": 4,
    "events": 4,
    # 5 — the queue and the workers that write the store (and the report families' derived
    # tables: attribution, rollups), and the live hub fed from the queue.
    "workers": 5,
    "live": 5,
    # 6 — ingest: validates, prices (pricing) and enqueues (workers' queue).
    "ingest": 6,
    # 7 — the HTTP-facing translation layers.
    "graphql": 7,
    "web": 7,
    "openapi": 7,
    # 8 — the relational model registry (every feature's tables, and deleting a workspace from
    # all of them) and the composition root, which may import anything.
    "models": 8,
    "migrate": 8,
    "runtime": 9,
    "server": 10,
    "front": 11,
    "demo": 11,
    "cli": 12,
}
FLOW = "ingest → pricing → queue → workers → store; graphql → services → store"

# What "resolvers call services only" means: no module under app/graphql/ runs a statement
# (ClickHouse `query`/`command`/`insert`, SQLAlchemy `exec`/`execute`) or builds
# one (sqlmodel/sqlalchemy imports other than the types of the request's `Session` and of the
# `Engine` it is opened on, app/graphql/parts.py).
_SQL_CALLS = frozenset({"query", "command", "insert", "exec", "execute"})
_SQL_MODULES = ("sqlmodel", "sqlalchemy")
_ALLOWED_SQL_NAMES = frozenset({"Session", "Engine"})


def _modules() -> list[Path]:
    return sorted(p for p in APP.rglob("*.py") if "node_modules" not in p.parts)


def _top(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if parts[0] == "app" and len(parts) > 1 else None


def _own(path: Path) -> str:
    rel = path.relative_to(APP)
    return rel.parts[0].removesuffix(".py")


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "app":
                found += [(node.lineno, f"app.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    problems = []
    for path in _modules():
        own = _own(path)
        for line, module in _imports(ast.parse(path.read_text(), str(path))):
            target = _top(module)
            if target is None or target == own:
                continue
            edges[own].add(target)
            where = f"app/{path.relative_to(APP)}:{line} imports {module}"
            if own not in RANKS or target not in RANKS:
                problems.append(f"{where}: add {own if own not in RANKS else target} to RANKS")
            elif RANKS[target] > RANKS[own]:
                problems.append(f"{where}: {own} is below {target} ({FLOW})")
    return edges, problems


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(set(edges) | {t for ts in edges.values() for t in ts}):
        if node not in index:
            visit(node)
    return components


def test_every_top_level_name_has_a_rank() -> None:
    names = {_own(path) for path in _modules()} - {"__init__"}
    assert sorted(names - set(RANKS)) == []


def test_no_import_runs_against_the_data() -> None:
    _, problems = _graph()
    assert problems == []


def test_no_package_cycles() -> None:
    edges, _ = _graph()
    assert _cycles(edges) == []


def test_graphql_runs_no_sql() -> None:
    problems = []
    for path in sorted((APP / "graphql").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        where = f"app/{path.relative_to(APP)}"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
                _SQL_MODULES
            ):
                names = {alias.name for alias in node.names} - _ALLOWED_SQL_NAMES
                if names:
                    problems.append(f"{where}:{node.lineno} imports {sorted(names)}: use a service")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _SQL_CALLS
            ):
                problems.append(f"{where}:{node.lineno} calls .{node.func.attr}(): use a service")
    assert problems == []
