from __future__ import annotations

import strawberry

from app.accounts import people
from app.graphql.context import Info
from app.graphql.people.types import Member
from app.graphql.permissions import IsWorkspaceMember


@strawberry.type
class PeopleQuery:
    @strawberry.field(
        description=(
            "The people of the workspace and their roles, in the order they joined. Every "
            "credential of the workspace may read it; admins change it (`inviteMember`, "
            "`setMemberRole`, `removeMember`)."
        ),
        permission_classes=[IsWorkspaceMember],
    )
    async def members(self, info: Info) -> list[Member]:
        workspace_id = await info.context.workspace_id()
        views = await info.context.read(lambda session: people.list_members(session, workspace_id))
        return [Member.of(view) for view in views]
