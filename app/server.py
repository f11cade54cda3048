"""The HTTP application: `create_app(settings)` with explicit routes and lifespan."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp

from app.ingest.endpoint import ingest
from app.metrics import metrics
from app.openapi import openapi_json
from app.runtime import Runtime, open_runtime
from app.settings import Settings
from app.web.routes import web_routes

# Python's default is 5 ms (measured in bench/README.md, bench.concurrency).
SWITCH_INTERVAL_S = 0.001


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    checks = await anyio.to_thread.run_sync(runtime.readiness)
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


def create_app(
    settings: Settings | None = None, *, workers: bool = True, ingest_only: bool = False
) -> Starlette:
    """The HTTP app. `ingest_only` serves ingest, health and metrics without GraphQL: such a
    process needs no ClickHouse, so it can run beside the one that owns the embedded engine."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not ingest_only:
            # A thread converting a big analytics result holds the interpreter for up to the
            # switch interval before the loop serving ingest and /healthz gets it back.
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        runtime = await anyio.to_thread.run_sync(
            lambda: open_runtime(settings, workers=workers, ingest_only=ingest_only)
        )
        runtime.start()
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.enqueuer.close()
            await anyio.to_thread.run_sync(runtime.stop)

    routes: list[BaseRoute] = [
        Route("/v1/ingest", ingest, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/openapi.json", openapi_json, methods=["GET"]),
    ]
    if not ingest_only:
        from app.graphql.app import make_graphql_app

        # A Route, not a Mount: a Mount would redirect POST /graphql to /graphql/.
        graphql_app = make_graphql_app(settings)
        graphql: ASGIApp = graphql_app
        methods = ["GET", "POST"]
        if settings.cors_origin_list:
            # Only /graphql: ingest is signed with an app secret, which never sits in a browser.
            graphql = CORSMiddleware(
                graphql,
                allow_origins=settings.cors_origin_list,
                allow_credentials=True,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "x-csrf-token", "x-workspace-id"],
                max_age=600,
            )
            methods.append("OPTIONS")
        routes.append(Route("/graphql", graphql, methods=methods))
        # Subscriptions (graphql-transport-ws); browsers' origins are checked by the app.
        routes.append(WebSocketRoute("/graphql", graphql_app))
        # The dashboard: static files on the GraphQL API above (app/web).
        routes.extend(web_routes())
    return Starlette(routes=routes, lifespan=lifespan)
