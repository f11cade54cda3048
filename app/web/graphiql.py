"""GraphiQL on `GET /graphql` (development), from the vendored files of `static/vendor/`.

strawberry's own page loads React and GraphiQL from unpkg.com, which fails offline and sends
every visit to a third party. `VendoredGraphiQL` replaces its `render_graphql_ide` and serves
`static/graphiql/index.html` instead: the same GraphiQL (3.8.3) with React 18 from `/static/`,
sending the `x-csrf-token` header a signed-in browser's mutations need (CONTRACT §6).
"""

from __future__ import annotations

from functools import cache

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app.web.routes import STATIC_DIR

GRAPHIQL_HTML = STATIC_DIR / "graphiql" / "index.html"

# GraphiQL's editors size and colour their elements with inline styles and its fonts are
# data: URLs; everything else is the page's own origin.
GRAPHIQL_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


@cache
def graphiql_html() -> str:
    return GRAPHIQL_HTML.read_text(encoding="utf-8")


def graphiql_response() -> HTMLResponse:
    """The GraphiQL page, with a policy that lets it load nothing from another host."""
    return HTMLResponse(
        graphiql_html(),
        headers={"content-security-policy": GRAPHIQL_CSP, "cache-control": "no-cache"},
    )


class VendoredGraphiQL:
    """Mixin for strawberry's ASGI view (`class GraphQLApp(VendoredGraphiQL, GraphQL[…])`):
    GraphiQL from the package's own files instead of a CDN."""

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_response()
