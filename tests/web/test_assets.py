"""The dashboard's files (app/web): served with their policy, complete, pinned and licensed, and
shipped in the wheel. No browser here: tests/web/test_dashboard.py drives one."""

from __future__ import annotations

import base64
import hashlib
import re
import tomllib
from pathlib import Path

import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient
from strawberry.asgi import GraphQL

from app.web.graphiql import GRAPHIQL_CSP, VendoredGraphiQL
from app.web.routes import INDEX_HTML, STATIC_DIR, web_routes

ROOT = Path(__file__).resolve().parents[2]
VENDOR = STATIC_DIR / "vendor"


def client() -> TestClient:
    return TestClient(Starlette(routes=web_routes()))


def test_the_dashboard_is_served_at_the_root_with_a_same_origin_policy() -> None:
    response = client().get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    # The import map is the page's one inline script: allowed by its hash, nothing else is.
    (importmap,) = re.findall(r'<script type="importmap">(.*?)</script>', response.text, re.S)
    digest = base64.b64encode(hashlib.sha256(importmap.encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}'" in policy
    assert "unsafe-eval" not in policy


def test_every_file_the_pages_name_is_served_from_the_package() -> None:
    http = client()
    index = INDEX_HTML.read_text()
    importmap = re.search(r'<script type="importmap">(.*?)</script>', index, re.S)
    assert importmap is not None
    named = re.findall(r'"(/static/[^"]+)"', importmap.group(1))
    named += re.findall(r'(?:src|href)="(/static/[^"]+)"', index)
    graphiql = (STATIC_DIR / "graphiql" / "index.html").read_text()
    named += re.findall(r'(?:src|href)="(/static/[^"]+)"', graphiql)
    # Every module the dashboard imports, relative or through the import map.
    for module in STATIC_DIR.glob("js/**/*.js"):
        for target in re.findall(r'from "(\.{1,2}/[^"]+)"', module.read_text()):
            path = (module.parent / target).resolve().relative_to(STATIC_DIR)
            named.append(f"/static/{path.as_posix()}")
    assert len(named) > 20
    for url in sorted(set(named)):
        response = http.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "no-cache", url
        if url.endswith(".js"):
            assert "javascript" in response.headers["content-type"], url


def test_no_page_or_module_loads_anything_from_another_host() -> None:
    for path in [*STATIC_DIR.glob("**/*.html"), *STATIC_DIR.glob("js/**/*.js")]:
        text = path.read_text()
        assert not re.search(r'(?:src|href)="(?:https?:)?//', text), path
        assert not re.search(r'(?:from|import\()\s*"(?:https?:)?//', text), path


def test_vendored_files_are_the_pinned_versions_with_their_licences() -> None:
    versions = (VENDOR / "VERSIONS").read_text()
    listed = re.findall(r"^# (\S+/\S+\.(?:js|css))\s", versions, re.M)
    files = sorted(
        p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.suffix in {".js", ".css"}
    )
    assert sorted(listed) == files
    for name in files:
        digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        assert digest in versions, f"{name} differs from the version VERSIONS records"
    for folder in {Path(name).parent for name in files}:
        assert (VENDOR / folder / "LICENSE").stat().st_size > 500, folder
    for package in ("preact", "htm", "uplot", "graphiql", "react", "react-dom"):
        assert re.search(rf"^{package}\s+\d+\.\d+\.\d+\s", versions, re.M), package


def test_the_wheel_ships_every_file_of_the_dashboard() -> None:
    """pyproject's package-data patterns match every file under app/web/static."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["app"]
    app_dir = ROOT / "app"
    shipped = {p for pattern in patterns for p in app_dir.glob(pattern) if p.is_file()}
    files = {p for p in STATIC_DIR.rglob("*") if p.is_file()}
    assert files - shipped == set()


@strawberry.type
class _Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


class _View(VendoredGraphiQL, GraphQL[None, None]):
    pass


def test_graphiql_is_rendered_from_the_vendored_files() -> None:
    view = _View(strawberry.Schema(query=_Query), graphql_ide="graphiql")
    http = TestClient(Starlette(routes=[Route("/graphql", view), *web_routes()]))
    page = http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == GRAPHIQL_CSP
    assert "unpkg.com" not in page.text and "cdn" not in page.text.lower()
    for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert http.get(url).status_code == 200, url
    # Queries still run.
    answer = http.post("/graphql", json={"query": "{ hello }"})
    assert answer.json() == {"data": {"hello": "world"}}
