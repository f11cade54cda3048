"""The empty state's tracking snippet: code for the app, with the privacy note."""

from __future__ import annotations

from app.snippets import PRIVACY_NOTE, tracking_snippets
from tests.graphql.conftest import Api, Tenant

QUERY = (
    "query ($app: UUID) { trackingSnippet(appUuid: $app) { python curl javascript privacyNote } }"
)


def test_the_snippet_names_the_app_and_carries_the_privacy_note(api: Api, tenant: Tenant) -> None:
    snippet = api.data(QUERY, {"app": str(tenant.app_uuid)}, token=tenant.admin_token)
    expected = tracking_snippets("http://127.0.0.1:8000", str(tenant.app_uuid))
    assert snippet["trackingSnippet"] == {
        "python": expected["python"],
        "curl": expected["curl"],
        "javascript": expected["javascript"],
        "privacyNote": PRIVACY_NOTE,
    }
    assert str(tenant.app_uuid) in snippet["trackingSnippet"]["curl"]


def test_another_workspaces_app_is_not_found(api: Api, tenant: Tenant) -> None:
    other = api.tenant(name="Other")
    error = api.error(QUERY, {"app": str(other.app_uuid)}, token=tenant.admin_token)
    assert error["extensions"]["code"] == "NOT_FOUND"


def test_without_a_token_the_snippet_is_unauthenticated(api: Api, tenant: Tenant) -> None:
    error = api.error(QUERY, {"app": None}, token=None)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
