from __future__ import annotations

from datetime import datetime

import strawberry

from app.accounts.models import Role as AccountRole
from app.accounts.people import IssuedLink, IssuedSession, MemberView
from app.graphql.viewer.types import Role, User, UserWorkspace

_ACCOUNT_ROLES = {
    Role.ADMIN: AccountRole.admin,
    Role.MEMBER: AccountRole.member,
    Role.SUPERUSER: AccountRole.superuser,
}


def workspace_role(role: Role) -> AccountRole:
    """The stored role of a `Role` argument (the service refuses SUPERUSER for a workspace)."""
    return _ACCOUNT_ROLES[role]


@strawberry.type(
    description=(
        "A signed-in session. Browsers keep it in the HttpOnly cookie `st_session` (set by the "
        "answer) and send the readable cookie `st_csrf`'s value as the header `x-csrf-token` "
        "with every mutation; other clients send `token` as 'Authorization: Bearer <token>'. "
        "Requests name the workspace they work on with the header `x-workspace-id` (default: "
        "the first of `workspaces`)."
    )
)
class Session:
    user: User = strawberry.field(description="Who signed in.")
    workspaces: list[UserWorkspace] = strawberry.field(
        description="The workspaces they belong to, in the order they joined them."
    )
    expires_at: datetime = strawberry.field(
        description="When the session ends (UTC), unless it is ended before (logout, password)."
    )
    token: str = strawberry.field(
        description="The session token, shown once: for clients that send a bearer token."
    )

    @classmethod
    def of(cls, issued: IssuedSession) -> Session:
        return cls(
            user=User(email=issued.user.email),
            workspaces=[UserWorkspace.of(row) for row in issued.workspaces],
            expires_at=issued.expires_at,
            token=issued.token,
        )


@strawberry.type(
    description=(
        "A single-use, expiring invitation into the workspace. No e-mail is sent: hand the URL "
        "to the person, who sets their password there (`acceptInvitation`)."
    )
)
class Invitation:
    email: str = strawberry.field(description="Who is invited.")
    role: Role = strawberry.field(description="Their role once they accept.")
    url: str = strawberry.field(description="The dashboard's page that accepts it.")
    token: str = strawberry.field(
        description="The invitation's token (in the URL too), shown once; `acceptInvitation` "
        "takes it."
    )
    expires_at: datetime = strawberry.field(description="Unused after this, it is void (UTC).")

    @classmethod
    def of(cls, issued: IssuedLink, *, base_url: str) -> Invitation:
        role = issued.link.role
        assert role is not None
        return cls(
            email=issued.link.email,
            role=Role(role.value),
            url=issued.url(base_url),
            token=issued.token,
            expires_at=issued.expires_at,
        )


@strawberry.type(
    description=(
        "A single-use, expiring link that sets a person's password (`setPassword`); using it "
        "ends their sessions."
    )
)
class PasswordResetLink:
    email: str = strawberry.field(description="Whose password it sets.")
    url: str = strawberry.field(description="The dashboard's page that sets the password.")
    token: str = strawberry.field(description="The link's token (in the URL too), shown once.")
    expires_at: datetime = strawberry.field(description="Unused after this, it is void (UTC).")

    @classmethod
    def of(cls, issued: IssuedLink, *, base_url: str) -> PasswordResetLink:
        return cls(
            email=issued.link.email,
            url=issued.url(base_url),
            token=issued.token,
            expires_at=issued.expires_at,
        )


@strawberry.type(description="A person of the workspace and their role there.")
class Member:
    user: User = strawberry.field(description="The person.")
    role: Role = strawberry.field(description="ADMIN (changes the workspace) or MEMBER (reads).")
    joined_at: datetime = strawberry.field(description="When they joined the workspace (UTC).")

    @classmethod
    def of(cls, view: MemberView) -> Member:
        return cls(
            user=User(email=view.email), role=Role(view.role.value), joined_at=view.joined_at
        )
