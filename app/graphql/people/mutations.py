"""Sign-in, sessions, links and members. Sign-in answers set the session cookies
(`Context.set_session_cookies`); every refusal of a sign-in is counted and audited before it
is answered (the service returns it, the unit of work commits, then it is raised here)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import anyio
import strawberry
from sqlmodel import Session as DbSession

from app.accounts import people
from app.accounts.login_limits import LoginPolicy
from app.accounts.models import Role as AccountRole
from app.accounts.passwords import passwords_for
from app.accounts.people import IssuedSession, SignInRefused
from app.graphql.context import Context, Info
from app.graphql.people.types import Invitation, Member, PasswordResetLink, Session, workspace_role
from app.graphql.permissions import IsPublic, IsSignedIn, IsWorkspaceAdmin
from app.graphql.viewer.types import Role

_Email = Annotated[str, strawberry.argument(description="The person's e-mail address.")]
_Password = Annotated[
    str, strawberry.argument(description="The password (at least 10 characters by default).")
]
_LinkToken = Annotated[str, strawberry.argument(description="The link's token.")]


async def _signed_in(context: Context, outcome: IssuedSession | SignInRefused) -> Session:
    if isinstance(outcome, SignInRefused):
        if outcome.delay_s > 0:
            await anyio.sleep(outcome.delay_s)
        raise outcome.error
    context.set_session_cookies(
        token=outcome.token, csrf_token=outcome.csrf_token, expires_at=outcome.expires_at
    )
    return Session.of(outcome)


@strawberry.type
class PeopleMutation:
    @strawberry.mutation(
        description=(
            "Sign in: a session, and the cookies `st_session` (HttpOnly; Secure; SameSite=Lax) "
            "and `st_csrf` (readable). UNAUTHENTICATED with the same message for a wrong "
            "e-mail address and a wrong password. Repeated failures are answered more slowly, "
            "then refused for a while with TOO_MANY_REQUESTS (per e-mail address and per "
            "client address, whether the address has an account or not). Audited."
        ),
        permission_classes=[IsPublic],
    )
    async def login(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The e-mail address.")],
        password: Annotated[str, strawberry.argument(description="The password.")],
    ) -> Session:
        context = info.context
        settings = context.settings
        address = context.client_address()
        outcome = await context.write(
            lambda session: people.login(
                session,
                email=email,
                password=password,
                address=address,
                passwords=passwords_for(settings),
                policy=LoginPolicy.of(settings),
                session_ttl=timedelta(seconds=settings.session_ttl_s),
            )
        )
        return await _signed_in(context, outcome)

    @strawberry.mutation(
        description=(
            "End this session (the cookie's or the bearer session token's) and clear the "
            "cookies. Signed-in people only: API keys are revoked with `revokeApiKey`."
        ),
        permission_classes=[IsSignedIn],
    )
    async def logout(self, info: Info) -> bool:
        context = info.context
        principal = await context.session_principal()
        await context.write(
            lambda session: people.logout(
                session, session_id=principal.token_id, actor=principal.actor
            )
        )
        context.clear_session_cookies()
        return True

    @strawberry.mutation(
        description=(
            "Accept an invitation and sign in (sets the cookies as `login`). A new person sets "
            "their password with it; a person who has an account already gives their password. "
            "UNAUTHENTICATED for an unknown, used or expired invitation or a wrong password; "
            "BAD_USER_INPUT for a password too weak."
        ),
        permission_classes=[IsPublic],
    )
    async def accept_invitation(
        self, info: Info, token: _LinkToken, password: _Password
    ) -> Session:
        context = info.context
        settings = context.settings
        address = context.client_address()
        outcome = await context.write(
            lambda session: people.accept_invitation(
                session,
                token=token,
                password=password,
                address=address,
                passwords=passwords_for(settings),
                policy=LoginPolicy.of(settings),
                session_ttl=timedelta(seconds=settings.session_ttl_s),
            )
        )
        return await _signed_in(context, outcome)

    @strawberry.mutation(
        description=(
            "Set a password with a set-password link (`admin create-user`, `admin "
            "reset-password`, `resetMemberPassword`) and sign in; every other session of the "
            "person ends. UNAUTHENTICATED for an unknown, used or expired link."
        ),
        permission_classes=[IsPublic],
    )
    async def set_password(self, info: Info, token: _LinkToken, password: _Password) -> Session:
        context = info.context
        settings = context.settings
        issued = await context.write(
            lambda session: people.set_password(
                session,
                token=token,
                password=password,
                passwords=passwords_for(settings),
                session_ttl=timedelta(seconds=settings.session_ttl_s),
            )
        )
        return await _signed_in(context, issued)

    @strawberry.mutation(
        description=(
            "Change the signed-in person's password; their other sessions end, this one goes "
            "on. BAD_USER_INPUT (field currentPassword) for a wrong current password."
        ),
        permission_classes=[IsSignedIn],
    )
    async def change_password(
        self,
        info: Info,
        current_password: Annotated[str, strawberry.argument(description="The password now.")],
        new_password: Annotated[str, strawberry.argument(description="The new password.")],
    ) -> bool:
        context = info.context
        principal = await context.session_principal()
        user_id = principal.user_id
        assert user_id is not None
        passwords = passwords_for(context.settings)
        await context.write(
            lambda session: people.change_password(
                session,
                user_id=user_id,
                session_id=principal.token_id,
                current_password=current_password,
                new_password=new_password,
                passwords=passwords,
            )
        )
        return True

    @strawberry.mutation(
        description=(
            "Invite a person into the workspace (workspace admin): a single-use, expiring link "
            "to hand them (no e-mail is sent). Audited."
        ),
        permission_classes=[IsWorkspaceAdmin],
    )
    async def invite_member(
        self,
        info: Info,
        email: _Email,
        role: Annotated[Role, strawberry.argument(description="ADMIN or MEMBER.")],
    ) -> Invitation:
        context = info.context
        principal, workspace_id = await context.workspace_principal(admin=True)
        ttl = timedelta(seconds=context.settings.invitation_ttl_s)
        issued = await context.write(
            lambda session: people.invite_member(
                session,
                workspace_id=workspace_id,
                email=email,
                role=workspace_role(role),
                actor=principal.actor,
                ttl=ttl,
            )
        )
        return Invitation.of(issued, base_url=context.settings.public_url)

    @strawberry.mutation(
        description=(
            "Change a member's role (workspace admin). BAD_USER_INPUT when it would leave the "
            "workspace without an admin; NOT_FOUND for someone who is no member. Audited."
        ),
        permission_classes=[IsWorkspaceAdmin],
    )
    async def set_member_role(
        self,
        info: Info,
        email: _Email,
        role: Annotated[Role, strawberry.argument(description="ADMIN or MEMBER.")],
    ) -> Member:
        context = info.context
        principal, workspace_id = await context.workspace_principal(admin=True)
        view = await context.write(
            lambda session: people.set_member_role(
                session,
                workspace_id=workspace_id,
                email=email,
                role=workspace_role(role),
                actor=principal.actor,
            )
        )
        return Member.of(view)

    @strawberry.mutation(
        description=(
            "Remove a member from the workspace (workspace admin): their sessions stop working "
            "here at once. BAD_USER_INPUT for the last admin; NOT_FOUND for someone who is no "
            "member. Audited."
        ),
        permission_classes=[IsWorkspaceAdmin],
    )
    async def remove_member(self, info: Info, email: _Email) -> bool:
        context = info.context
        principal, workspace_id = await context.workspace_principal(admin=True)
        await context.write(
            lambda session: people.remove_member(
                session, workspace_id=workspace_id, email=email, actor=principal.actor
            )
        )
        return True

    @strawberry.mutation(
        description=(
            "A link that sets a member's password (workspace admin), for a person who forgot "
            "theirs: using it ends their sessions. FORBIDDEN when the person also belongs to a "
            "workspace the caller does not administer (an operator resets theirs: `saas-tracker "
            "admin reset-password`). Audited."
        ),
        permission_classes=[IsWorkspaceAdmin],
    )
    async def reset_member_password(self, info: Info, email: _Email) -> PasswordResetLink:
        context = info.context
        principal, workspace_id = await context.workspace_principal(admin=True)
        ttl = timedelta(seconds=context.settings.password_reset_ttl_s)

        def reset(session: DbSession) -> people.IssuedLink:
            within = {workspace_id}
            if principal.user_id is not None:
                within |= {
                    row.id
                    for row in people.user_workspaces(session, principal.user_id)
                    if row.role is AccountRole.admin
                }
            return people.create_password_reset(
                session, email=email, actor=principal.actor, ttl=ttl, within=within
            )

        issued = await context.write(reset)
        return PasswordResetLink.of(issued, base_url=context.settings.public_url)
