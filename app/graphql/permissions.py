"""Who may call what: strawberry permission classes, declared on each field.

They raise the contract's errors themselves (`UNAUTHENTICATED`, `FORBIDDEN`) rather than
returning False, so that the one translation in `app.graphql.errors` gives every refusal the
same `code` and `status`. The principal is authenticated once per request (`Context.once`),
so resolvers asking the context for it again cost nothing.

On a mutation field each class first applies the rules every mutation shares
(`Context.authorize_mutation`): an API key of scope READ may call none (`FORBIDDEN`), and a
request authenticated by the session cookie must carry the CSRF header (`FORBIDDEN`).
"""

from __future__ import annotations

from typing import Any

from graphql import OperationType
from strawberry.permission import BasePermission

from app.graphql.context import Info


async def _mutation_rules(info: Info) -> None:
    if info.operation.operation is OperationType.MUTATION:
        await info.context.authorize_mutation()


class IsAuthenticated(BasePermission):
    """Any valid credential: an API key, an operator's key or a signed-in person."""

    message = "Sign in, or send 'Authorization: Bearer <token>'."

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await info.context.principal()
        await _mutation_rules(info)
        return True


class IsSignedIn(BasePermission):
    """A signed-in person (a session), whatever their role: their own session and password."""

    message = "Only a signed-in person may do this."

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await info.context.session_principal()
        await _mutation_rules(info)
        return True


class IsWorkspaceMember(BasePermission):
    """A credential of a workspace, member or admin (reads that workspace's data)."""

    message = "Use a workspace token."

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await info.context.workspace_id()
        await _mutation_rules(info)
        return True


class IsWorkspaceAdmin(BasePermission):
    """An admin of a workspace, person or API key of scope ADMIN (changes that workspace)."""

    message = "Only a workspace admin may do this."

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await _mutation_rules(info)
        await info.context.workspace_id(admin=True)
        return True


class IsSuperuser(BasePermission):
    """An operator token (the whole installation's catalog and unmapped models)."""

    message = "Only an operator (superuser) may do this."

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await _mutation_rules(info)
        await info.context.superuser()
        return True


class IsPublic(BasePermission):
    """No credential needed (sign-in and single-use links); only an API key of scope READ is
    refused, as on every mutation."""

    message = "An API key of scope READ may not change anything."

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await info.context.refuse_read_only_key()
        return True
