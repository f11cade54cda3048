"""`saas-tracker serve` as the benchmark runs it: the real CLI and app, plus two things.

- If `app.graphql.app` cannot be imported yet (a colleague is writing it), it is replaced by a
  stub that answers 404 under /graphql, and a note is printed on stderr.
- A visibility watcher (in the engine process of a split serve, which this module starts
  too): a thread that, every 100 ms, asks the server's own `runtime.store` (the process owns
  the embedded ClickHouse folder, so nobody else can read it while it runs)
  for the row count of `events` and the event_ids stored in the probe workspace
  (BENCH_PROBE_WORKSPACE). It notes the wall-clock time at which each probe was first seen and
  when the count last changed. `GET /_bench/visible` returns that; the benchmark reads it once
  the load is over, so the timestamps never wait behind the HTTP queue of a saturated server.
  A row it sees is what any dashboard query sees. Its one query per 100 ms costs about 6 % of
  a core here (chdb spends 1-6 ms of CPU on even a trivial query).

Usage: `python -m bench.server [serve options]` (e.g. `--port 8123`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import types
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

VISIBLE_PATH = "/_bench/visible"
WATCH_INTERVAL_S = 0.1
log = logging.getLogger("bench.server")


def stub_graphql_if_missing() -> bool:
    """Install a stand-in `app.graphql.app` module if the real one cannot be imported."""
    try:
        import app.graphql.app  # noqa: F401
    except ImportError:
        pass
    else:
        return False

    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        await Response(b"GraphQL is stubbed in this benchmark", status_code=404)(
            scope, receive, send
        )

    module = types.ModuleType("app.graphql.app")
    module.make_graphql_app = lambda settings: not_found  # type: ignore[attr-defined]
    sys.modules["app.graphql.app"] = module
    return True


class Watcher:
    def __init__(self, store: Any, probe_workspace: str) -> None:
        self.store = store
        self.probe_workspace = probe_workspace
        self.total = 0
        self.changed_at = time.time()
        self.seen: dict[str, float] = {}
        threading.Thread(target=self._run, name="bench-watcher", daemon=True).start()

    def _run(self) -> None:
        while True:
            started = time.time()  # a row found now was visible at least since `started`
            try:
                [row] = self.store.query(
                    "SELECT (SELECT count() FROM events) AS total, groupArray(event_id) AS ids "
                    "FROM events WHERE workspace_id = {ws:UUID}",
                    {"ws": self.probe_workspace},
                )
            except Exception:
                log.exception("bench watcher query failed")
            else:
                if row["total"] != self.total:
                    self.total, self.changed_at = int(row["total"]), started
                for event_id in row["ids"]:
                    self.seen.setdefault(event_id, started)
            time.sleep(max(0.0, WATCH_INTERVAL_S - (time.time() - started)))

    def snapshot(self) -> dict[str, Any]:
        return {"total": self.total, "changed_at": self.changed_at, "seen": dict(self.seen)}


_watcher: Watcher | None = None
_watcher_lock = threading.Lock()


async def visible(request: Request) -> JSONResponse:
    """Starts the watcher on the first call; returns what it has seen so far."""
    global _watcher
    with _watcher_lock:
        if _watcher is None:
            _watcher = Watcher(request.app.state.runtime.store, os.environ["BENCH_PROBE_WORKSPACE"])
    return JSONResponse(_watcher.snapshot())


def main() -> None:
    if stub_graphql_if_missing():
        print("bench.server: app.graphql.app is missing; /graphql is stubbed", file=sys.stderr)
    import app.server

    create_app = app.server.create_app

    def create_app_with_probe(*args: Any, **kwargs: Any) -> Any:
        asgi = create_app(*args, **kwargs)
        asgi.router.routes.insert(0, Route(VISIBLE_PATH, visible, methods=["GET"]))
        return asgi

    app.server.create_app = create_app_with_probe  # the CLI imports it at call time

    # A split serve (2+ cores) answers /_bench/visible from its engine process (the front
    # proxies it there): start the engine through this module too, so it has the route.
    import app.front.engine

    def bench_engine_command(self: app.front.engine.EngineProcess) -> list[str]:
        return [sys.executable, "-m", "bench.server", "--engine-socket", str(self.socket_path)]

    app.front.engine.EngineProcess.command = property(bench_engine_command)  # type: ignore[assignment,method-assign]
    from app.cli import main as cli_main

    sys.argv = ["saas-tracker", "serve", *sys.argv[1:]]
    cli_main()


if __name__ == "__main__":
    main()
