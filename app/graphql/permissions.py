"""Who may call what: strawberry permission classes, declared on each field.

They raise the contract's errors themselves (`UNAUTHENTICATED`, `FORBIDDEN`) rather than
returning False, so that the one translation in `app.graphql.errors` gives every refusal the
same `code` and `status`. The principal is authenticated once per request (`Context.once`),
so resolvers asking the context for it again cost nothing.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from app.graphql.context import Info


class IsAuthenticated(BasePermission):
    """Any valid token: a workspace member or admin, or an operator."""

    message = "Send 'Authorization: Bearer <token>'."

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await info.context.principal()
        return True


class IsWorkspaceMember(BasePermission):
    """A token of a workspace, member or admin (reads that workspace's data)."""

    message = "Use a workspace token."

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await info.context.workspace_id()
        return True


class IsWorkspaceAdmin(BasePermission):
    """An admin token of a workspace (changes that workspace)."""

    message = "Only a workspace admin may do this."

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await info.context.workspace_id(admin=True)
        return True


class IsSuperuser(BasePermission):
    """An operator token (the whole installation's catalog and unmapped models)."""

    message = "Only an operator (superuser) may do this."

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await info.context.superuser()
        return True
