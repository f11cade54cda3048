"""The ceiling of the ingest hot path: a bare Starlette endpoint that reads the body, verifies
its HMAC with the project's own `verify` and parses it with the project's own `parse_json`,
then answers 202. No app lookup, validation, pricing, queue or ClickHouse.

Run by bench/ingest.py as `uvicorn bench.ceiling:app` with BENCH_SECRET in the environment.
"""

from __future__ import annotations

import os
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.ingest.errors import InvalidJson, InvalidSignature
from app.ingest.parsing import parse_json
from app.ingest.signature import verify

SECRETS = (os.environ.get("BENCH_SECRET", "bench-secret"),)


async def ingest(request: Request) -> Response:
    body = await request.body()
    try:
        verify(
            body=body,
            signature=request.headers.get("x-signature"),
            timestamp=request.headers.get("x-timestamp"),
            secrets=SECRETS,
            now=time.time(),
            tolerance_s=300,
        )
        parse_json(body, max_depth=32)
    except (InvalidSignature, InvalidJson) as exc:
        return JSONResponse({"error": type(exc).__name__}, status_code=400)
    return Response(status_code=202)


async def healthz(request: Request) -> Response:
    return Response(status_code=200)


app = Starlette(routes=[Route("/v1/ingest", ingest, methods=["POST"]), Route("/healthz", healthz)])
