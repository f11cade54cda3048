from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry

from app.accounts.models import App as AppRow
from app.db import as_utc, utcnow
from app.graphql.node import Node, NodeKey


def _fields(row: AppRow) -> dict[str, Any]:
    expires = row.previous_secret_expires_at
    still_valid = (
        row.previous_secret is not None and expires is not None and as_utc(expires) > utcnow()
    )
    return {
        "uuid": row.uuid,
        "name": row.name,
        "active": row.active,
        "created_at": row.created_at,
        "previous_secret_valid_until": as_utc(expires) if still_valid and expires else None,
    }


@strawberry.type(
    description=(
        "An integrator's application. Its UUID (header x-app-uuid) and API secret sign ingest "
        "requests. The secret is never listed: it is shown once, by `createApp` and "
        "`rotateAppSecret`."
    )
)
class App(Node):
    uuid: UUID = strawberry.field(description="The app's UUID (the x-app-uuid header).")
    name: str = strawberry.field(description="Display name.")
    active: bool = strawberry.field(
        description="False once deactivated: its events are refused (404 unknown_app)."
    )
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    previous_secret_valid_until: datetime | None = strawberry.field(
        description=(
            "After a rotation the previous secret keeps verifying until then (UTC); null when "
            "no previous secret is valid any more."
        )
    )

    @classmethod
    def of(cls, row: AppRow) -> App:
        return cls(**_fields(row))

    def node_key(self) -> NodeKey:
        return (str(self.uuid),)


@strawberry.type(
    description=(
        "An app with its API secret: returned only by `createApp` and `rotateAppSecret`. Store "
        "the secret now; it is never shown again. `app` is the app itself (a Node, without the "
        "secret), which a normalized client cache files under its id, so that every list of "
        "apps shows the change; the other fields are the app's too, as before."
    )
)
class AppWithSecret:
    app: App = strawberry.field(description="The app created or rotated.")
    uuid: UUID = strawberry.field(description="The app's UUID (the x-app-uuid header).")
    name: str = strawberry.field(description="Display name.")
    active: bool = strawberry.field(
        description="False once deactivated: its events are refused (404 unknown_app)."
    )
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    previous_secret_valid_until: datetime | None = strawberry.field(
        description=(
            "After a rotation the previous secret keeps verifying until then (UTC); null when "
            "no previous secret is valid any more."
        )
    )
    api_secret: str = strawberry.field(
        description="The API secret: the HMAC-SHA256 key of the x-signature header."
    )

    @classmethod
    def with_secret(cls, row: AppRow) -> AppWithSecret:
        return cls(app=App.of(row), **_fields(row), api_secret=row.api_secret)


@strawberry.type(
    description=(
        "Copy-paste code that signs and sends an `ai_call_completed` event, for the empty state "
        "of the AI Cost page. Each snippet reads the API secret from SAAS_TRACKER_API_SECRET; "
        "none contains it."
    )
)
class TrackingSnippet:
    python: str = strawberry.field(
        description="Python, with the client SDK (saas-tracker-client, clients/python)."
    )
    curl: str = strawberry.field(description="Shell: curl with an openssl HMAC.")
    javascript: str = strawberry.field(description="Node.js 18+: crypto HMAC and fetch.")
    privacy_note: str = strawberry.field(
        description="What never to send (prompts, outputs, transcripts), as the docs say it."
    )
