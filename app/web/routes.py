"""`web_routes()`: the dashboard at `/` and its files under `/static/`.

The dashboard is static: `static/index.html`, plain ES modules in `static/js/` and the vendored
libraries of `static/vendor/` (versions and licences in `static/vendor/VERSIONS`). It talks to
`/graphql` only, like any other client, so it needs no server code of its own.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
INDEX_HTML = STATIC_DIR / "index.html"
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


def script_hashes(html: str) -> list[str]:
    """CSP sources ('sha256-…') of the page's inline scripts: its import map."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def content_security_policy(html: str) -> str:
    """Same origin only: the page's own files, `/graphql` (fetch and WebSocket) and no frames.
    Styles may be inline: the chart library sizes its elements with style attributes."""
    scripts = " ".join(["'self'", *script_hashes(html)])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@cache
def _index() -> tuple[bytes, dict[str, str]]:
    html = INDEX_HTML.read_text(encoding="utf-8")
    headers = {
        "content-security-policy": content_security_policy(html),
        # The page names its modules without a version: always revalidate (ETag, 304).
        "cache-control": "no-cache",
        "referrer-policy": "same-origin",
        "x-content-type-options": "nosniff",
    }
    return html.encode(), headers


async def dashboard(request: Request) -> Response:
    """The dashboard's single page; its hash (`#/ai-cost`, …) picks the view."""
    body, headers = _index()
    return HTMLResponse(body, headers=headers)


class _Assets(StaticFiles):
    """The dashboard's files, revalidated on each use: their names carry no version, and an
    upgrade of the package must not leave a browser on yesterday's modules."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = "no-cache"
        response.headers["x-content-type-options"] = "nosniff"
        return response


def web_routes() -> list[BaseRoute]:
    """`/` (the dashboard) and `/static/…` (its files, the vendored libraries, GraphiQL's)."""
    return [
        Route("/", dashboard, methods=["GET", "HEAD"]),
        Mount("/static", app=_Assets(directory=STATIC_DIR), name="static"),
    ]
