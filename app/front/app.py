"""The front process of a split `serve`: ingest, health and metrics here; the rest in the engine.

Why two processes: the process that owns the embedded engine also computes analytics, and
converting a big result holds its interpreter. Ingest and `/healthz` answered there waited
behind the heaviest dashboard queries (16x and 25x their idle p99). Here the front verifies,
prices and queues events into the local queue under its own interpreter, on its own core,
while the engine (app/front/engine.py) writes them and serves GraphQL behind the proxy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager

import anyio.to_thread
import httpx
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.front.proxy import EngineProxy
from app.ingest.endpoint import ingest
from app.metrics import EVENTS_ACCEPTED, EVENTS_REJECTED, INGEST_REQUESTS, UNKNOWN_MODEL_EVENTS
from app.openapi import openapi_json
from app.runtime import Runtime, open_runtime
from app.server import healthz
from app.settings import Settings

# What the front counts itself; every other figure comes from the engine.
_FRONT_METRICS: tuple[Collector, ...] = (
    INGEST_REQUESTS,
    EVENTS_ACCEPTED,
    EVENTS_REJECTED,
    UNKNOWN_MODEL_EVENTS,
)
_ENGINE_UP = Gauge(
    "saas_tracker_engine_up",
    "1 while the engine process (GraphQL, writer) answers the front, 0 while it restarts.",
    registry=None,
)


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


async def _readyz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    proxy: EngineProxy = request.app.state.proxy
    checks = await anyio.to_thread.run_sync(runtime.readiness)
    try:
        engine = (await proxy.get("/readyz")).json()["checks"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        engine = {"engine": f"unavailable: {type(exc).__name__}"}
    checks = {**engine, **{k: v for k, v in checks.items() if v != "ok" or k not in engine}}
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


async def _metrics(request: Request) -> Response:
    proxy: EngineProxy = request.app.state.proxy
    own = [family for collector in _FRONT_METRICS for family in collector.collect()]
    names = {family.name for family in own}
    try:
        text = (await proxy.get("/metrics")).text
        engine = [f for f in text_string_to_metric_families(text) if f.name not in names]
        _ENGINE_UP.set(1)
    except httpx.HTTPError:
        engine = []
        _ENGINE_UP.set(0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families([*own, *_ENGINE_UP.collect(), *engine]))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


_LOCAL_PATHS = frozenset({"/v1/ingest", "/healthz", "/readyz", "/metrics", "/openapi.json"})


def create_front_app(settings: Settings, proxy: EngineProxy) -> ASGIApp:
    """The front's HTTP app; `proxy` reaches the engine, which must be ready (it migrates)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = await anyio.to_thread.run_sync(
            lambda: open_runtime(settings, ingest_only=True, beside_engine=True)
        )
        runtime.start()
        app.state.runtime = runtime
        app.state.proxy = proxy
        try:
            yield
        finally:
            await runtime.enqueuer.close()
            await anyio.to_thread.run_sync(runtime.stop)
            await proxy.aclose()

    routes: list[BaseRoute] = [
        Route("/v1/ingest", ingest, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/readyz", _readyz),
        Route("/metrics", _metrics),
        Route("/openapi.json", openapi_json, methods=["GET"]),
    ]
    local = Starlette(routes=routes, lifespan=lifespan)

    async def front(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or scope["path"] in _LOCAL_PATHS:
            await local(scope, receive, send)
        else:
            await proxy(scope, receive, send)

    return front
