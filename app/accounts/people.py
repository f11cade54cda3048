"""People: users, their memberships, sessions, sign-in, invitations and password links.

- A user belongs to workspaces with a role each (`admin`, `member`). A session is the user's,
  not a workspace's: each request names its workspace with the `x-workspace-id` header, and
  without it works on the workspace the user joined first (`app.accounts.service.authenticate`).
- Session tokens, CSRF tokens and link tokens carry 256 random bits and are stored as SHA-256
  digests only; passwords as Argon2id hashes (`app.accounts.passwords`).
- Links (invitations, set-password links) are single use and expire.
- Sign-in failures are counted per e-mail address and client address (`login_limits`).
- Everything that changes who may do what is audited, never with a password or a token.

Functions that must record something even when they refuse (a failed sign-in is counted and
audited) return the refusal instead of raising it: the caller's unit of work commits, then the
caller raises it.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlmodel import Session, col, func, select, update

from app import audit
from app.accounts import login_limits
from app.accounts.login_limits import LoginPolicy
from app.accounts.models import (
    AccessLink,
    LinkPurpose,
    Membership,
    Role,
    User,
    UserSession,
    Workspace,
)
from app.accounts.passwords import Passwords
from app.accounts.service import SESSION_PREFIX, get_workspace, hash_token
from app.db import as_utc, utcnow
from app.errors import (
    BadUserInput,
    Forbidden,
    NotFound,
    SaasTrackerError,
    TooManyRequests,
    Unauthenticated,
)

INVITATION_PREFIX = "sti_"
SET_PASSWORD_PREFIX = "stp_"
WRONG_CREDENTIALS = "Wrong e-mail address or password."
INVALID_LINK = "This link is unknown, already used or expired: ask for a new one."
ANONYMOUS = "anonymous"
# Not a full RFC 5322 parser: one @, something on each side, a dot in the domain, no spaces.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_EMAIL = 320
_WORKSPACE_ROLES = (Role.admin, Role.member)


def normalize_email(email: str, *, field: str = "email") -> str:
    """The address in lower case; `BadUserInput` naming `field` if it is not one."""
    address = email.strip().lower()
    if len(address) > _MAX_EMAIL or not _EMAIL.match(address):
        raise BadUserInput("This is not an e-mail address.", field=field)
    return address


def _audited_email(email: str) -> str:
    """What a failed sign-in's audit entry names: the address as typed if it is one (people do
    type their password into the e-mail field: that is never recorded)."""
    address = email.strip().lower()
    return address if len(address) <= _MAX_EMAIL and _EMAIL.match(address) else "(not an address)"


def _workspace_role(role: Role, *, field: str = "role") -> Role:
    if role not in _WORKSPACE_ROLES:
        raise BadUserInput("A workspace role is ADMIN or MEMBER.", field=field)
    return role


# --- reads ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkspaceRole:
    """A workspace a user belongs to, with their role there."""

    id: UUID
    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class MemberView:
    user_id: UUID
    email: str
    role: Role
    joined_at: datetime


def user_workspaces(session: Session, user_id: UUID) -> list[WorkspaceRole]:
    """The user's workspaces in the order they joined them (the first one is the default)."""
    rows = session.exec(
        select(Membership, Workspace)
        .join(Workspace, col(Membership.workspace_id) == col(Workspace.id))
        .where(Membership.user_id == user_id)
        .order_by(col(Membership.created_at), col(Membership.workspace_id))
    ).all()
    return [WorkspaceRole(workspace.id, workspace.name, m.role) for m, workspace in rows]


def get_user(session: Session, user_id: UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Unknown user.")
    return user


def _user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email)).first()


def list_members(session: Session, workspace_id: UUID) -> list[MemberView]:
    rows = session.exec(
        select(Membership, User)
        .join(User, col(Membership.user_id) == col(User.id))
        .where(Membership.workspace_id == workspace_id)
        .order_by(col(Membership.created_at), col(User.email))
    ).all()
    return [MemberView(user.id, user.email, m.role, m.created_at) for m, user in rows]


# --- sessions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedSession:
    """A new session: its tokens are here once, the database keeps their digests."""

    token: str
    csrf_token: str
    expires_at: datetime
    user: User
    workspaces: list[WorkspaceRole]


def issue_session(session: Session, *, user: User, ttl: timedelta) -> IssuedSession:
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=hash_token(token),
        csrf_hash=hash_token(csrf_token),
        user_id=user.id,
        expires_at=utcnow() + ttl,
    )
    session.add(row)
    session.flush()
    return IssuedSession(token, csrf_token, row.expires_at, user, user_workspaces(session, user.id))


def revoke_sessions(session: Session, *, user_id: UUID, keep: UUID | None = None) -> None:
    """End every session of the user but `keep`."""
    query = (
        update(UserSession)
        .where(col(UserSession.user_id) == user_id, col(UserSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    if keep is not None:
        query = query.where(col(UserSession.id) != keep)
    session.execute(query)


def logout(session: Session, *, session_id: UUID, actor: str) -> None:
    row = session.get(UserSession, session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        audit.record(session, actor=actor, action="session.logout")


# --- links ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedLink:
    """A single-use link: its token is here once, the database keeps its digest."""

    link: AccessLink
    token: str

    @property
    def expires_at(self) -> datetime:
        return as_utc(self.link.expires_at)

    def url(self, base_url: str) -> str:
        """The dashboard's page for the link. The token is in the fragment, which browsers
        never send to a server: it stays out of access logs and Referer headers."""
        page = (
            "accept-invitation" if self.link.purpose == LinkPurpose.invitation else "set-password"
        )
        return f"{base_url.rstrip('/')}/#/{page}?token={self.token}"


def _issue_link(
    session: Session,
    *,
    purpose: LinkPurpose,
    email: str,
    ttl: timedelta,
    actor: str,
    user_id: UUID | None = None,
    workspace_id: UUID | None = None,
    role: Role | None = None,
) -> IssuedLink:
    prefix = INVITATION_PREFIX if purpose is LinkPurpose.invitation else SET_PASSWORD_PREFIX
    token = prefix + secrets.token_urlsafe(32)
    link = AccessLink(
        token_hash=hash_token(token),
        purpose=purpose.value,
        email=email,
        user_id=user_id,
        workspace_id=workspace_id,
        role=role,
        created_by=actor,
        expires_at=utcnow() + ttl,
    )
    session.add(link)
    session.flush()
    return IssuedLink(link, token)


def _valid_link(session: Session, *, token: str, purpose: LinkPurpose) -> AccessLink:
    """The link of `token`; `Unauthenticated` for an unknown, used or expired one."""
    link = session.exec(
        select(AccessLink).where(AccessLink.token_hash == hash_token(token))
    ).first()
    if (
        link is None
        or link.purpose != purpose.value
        or link.used_at is not None
        or as_utc(link.expires_at) <= utcnow()
    ):
        raise Unauthenticated(INVALID_LINK)
    return link


def _consume(session: Session, link: AccessLink) -> None:
    """Mark the link used, once: of two concurrent uses, one finds it used."""
    used = session.execute(
        update(AccessLink)
        .where(col(AccessLink.id) == link.id, col(AccessLink.used_at).is_(None))
        .values(used_at=utcnow())
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise Unauthenticated(INVALID_LINK)


# --- users ----------------------------------------------------------------------------------


def _add_membership(session: Session, *, user: User, workspace_id: UUID, role: Role) -> None:
    session.add(Membership(user_id=user.id, workspace_id=workspace_id, role=role))


def _set_password(session: Session, *, user: User, password: str, passwords: Passwords) -> None:
    passwords.check_strength(password, email=user.email)
    user.password_hash = passwords.hash(password)
    user.password_changed_at = utcnow()
    session.add(user)


def create_user(
    session: Session,
    *,
    email: str,
    workspace_id: UUID,
    role: Role,
    actor: str,
    passwords: Passwords,
    password: str | None,
    link_ttl: timedelta,
) -> tuple[User, IssuedLink | None]:
    """A new user, member of the workspace with `role`, with `password` or, without one, a
    link to set it (returned)."""
    address = normalize_email(email)
    _workspace_role(role)
    get_workspace(session, workspace_id)
    if _user_by_email(session, address) is not None:
        raise BadUserInput(
            "A user with this e-mail address exists: invite them into the workspace "
            "(inviteMember), or send a reset link (admin reset-password).",
            field="email",
        )
    user = User(email=address)
    if password is not None:
        _set_password(session, user=user, password=password, passwords=passwords)
    session.add(user)
    session.flush()
    _add_membership(session, user=user, workspace_id=workspace_id, role=role)
    link = None
    if password is None:
        link = _issue_link(
            session,
            purpose=LinkPurpose.set_password,
            email=address,
            ttl=link_ttl,
            actor=actor,
            user_id=user.id,
        )
    audit.record(
        session,
        actor=actor,
        action="user.create",
        workspace_id=workspace_id,
        after={"email": address, "role": role.value},
    )
    return user, link


def invite_member(
    session: Session, *, workspace_id: UUID, email: str, role: Role, actor: str, ttl: timedelta
) -> IssuedLink:
    """An invitation into the workspace with `role`, for a new or an existing user."""
    address = normalize_email(email)
    _workspace_role(role)
    existing = _user_by_email(session, address)
    if existing is not None and session.get(Membership, (existing.id, workspace_id)) is not None:
        raise BadUserInput("This person is a member of the workspace already.", field="email")
    link = _issue_link(
        session,
        purpose=LinkPurpose.invitation,
        email=address,
        ttl=ttl,
        actor=actor,
        workspace_id=workspace_id,
        role=role,
    )
    audit.record(
        session,
        actor=actor,
        action="member.invite",
        workspace_id=workspace_id,
        after={"email": address, "role": role.value, "expires_at": link.expires_at.isoformat()},
    )
    return link


# --- sign-in --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignInRefused:
    """A refused sign-in, counted and audited: answer `error` after waiting `delay_s`."""

    error: SaasTrackerError
    delay_s: float = 0.0


def _locked(seconds: float) -> SignInRefused:
    wait = math.ceil(seconds)
    minutes = max(1, math.ceil(wait / 60))
    return SignInRefused(
        TooManyRequests(
            f"Too many failed sign-ins: try again in {minutes} minute(s).", retryAfterS=wait
        )
    )


def _check_password(
    session: Session,
    *,
    email: str,
    user: User | None,
    password: str,
    address: str,
    passwords: Passwords,
    policy: LoginPolicy,
) -> SignInRefused | None:
    """None if `password` is the user's; otherwise the refusal, the failure counted per
    e-mail address and client address. Unknown addresses take the same time and path."""
    now = utcnow()
    keys = [login_limits.account_key(email), login_limits.address_key(address)]
    locked = login_limits.locked_for(session, keys, now=now)
    if locked > 0:
        return _locked(locked)
    hashed = user.password_hash if user is not None else None
    if passwords.verify(hashed, password):
        assert user is not None
        login_limits.clear(session, keys[0])
        if hashed is not None and passwords.needs_rehash(hashed):
            user.password_hash = passwords.hash(password)
            session.add(user)
        return None
    failures = login_limits.record_failure(
        session, key=keys[0], lockout_after=policy.account_lockout_after, policy=policy, now=now
    )
    login_limits.record_failure(
        session, key=keys[1], lockout_after=policy.address_lockout_after, policy=policy, now=now
    )
    audit.record(
        session,
        actor=ANONYMOUS,
        action="session.login_failed",
        after={"email": _audited_email(email), "address": address},
    )
    return SignInRefused(Unauthenticated(WRONG_CREDENTIALS), policy.delay(failures))


def login(
    session: Session,
    *,
    email: str,
    password: str,
    address: str,
    passwords: Passwords,
    policy: LoginPolicy,
    session_ttl: timedelta,
) -> IssuedSession | SignInRefused:
    """Sign in: a new session, or the refusal (the same for a wrong password and an unknown
    address)."""
    typed = email.strip().lower()
    user = _user_by_email(session, typed) if len(typed) <= _MAX_EMAIL else None
    refused = _check_password(
        session,
        email=typed,
        user=user,
        password=password,
        address=address,
        passwords=passwords,
        policy=policy,
    )
    if refused is not None:
        return refused
    assert user is not None
    if not user_workspaces(session, user.id):
        # The password was right: telling so reveals nothing the caller does not know.
        return SignInRefused(
            Forbidden("Your account belongs to no workspace any more: ask an admin to invite you.")
        )
    issued = issue_session(session, user=user, ttl=session_ttl)
    audit.record(
        session,
        actor=f"user:{user.id}",
        action="session.login",
        after={"email": user.email, "address": address},
    )
    return issued


def accept_invitation(
    session: Session,
    *,
    token: str,
    password: str,
    address: str,
    passwords: Passwords,
    policy: LoginPolicy,
    session_ttl: timedelta,
) -> IssuedSession | SignInRefused:
    """Join the invitation's workspace and sign in. A new e-mail address becomes a user with
    `password`; an existing user proves `password` is theirs (one who has not set a password
    yet sets it with their set-password link first), so that whoever holds an invitation, the
    admin who made it included, never takes over an account. A refused password leaves the
    invitation unused."""
    link = _valid_link(session, token=token, purpose=LinkPurpose.invitation)
    user = _user_by_email(session, link.email)
    if user is not None:
        refused = _check_password(
            session,
            email=link.email,
            user=user,
            password=password,
            address=address,
            passwords=passwords,
            policy=policy,
        )
        if refused is not None:
            return refused
    else:
        passwords.check_strength(password, email=link.email)
    _consume(session, link)
    assert link.workspace_id is not None and link.role is not None
    if user is None:
        user = User(email=link.email)
        _set_password(session, user=user, password=password, passwords=passwords)
        session.flush()
    if session.get(Membership, (user.id, link.workspace_id)) is None:
        _add_membership(session, user=user, workspace_id=link.workspace_id, role=link.role)
    actor = f"user:{user.id}"
    audit.record(
        session,
        actor=actor,
        action="member.join",
        workspace_id=link.workspace_id,
        after={"email": user.email, "role": link.role.value, "invited_by": link.created_by},
    )
    session.flush()
    return issue_session(session, user=user, ttl=session_ttl)


def create_password_reset(
    session: Session,
    *,
    email: str,
    actor: str,
    ttl: timedelta,
    within: set[UUID] | None = None,
) -> IssuedLink:
    """A link that sets the user's password (and ends their sessions when used).

    `within`: the workspaces the caller administers (None: an operator, the CLI). A user who
    belongs to any other workspace is `Forbidden`, so that no workspace admin can take over an
    account that reaches into a workspace they do not administer; an address that is no
    member of theirs is `NotFound`."""
    address = normalize_email(email)
    user = _user_by_email(session, address)
    if user is None:
        raise NotFound("No user has this e-mail address.")
    if within is not None:
        theirs = {m.workspace_id for m in _memberships(session, user.id)}
        if not theirs & within:
            raise NotFound("No member of the workspace has this e-mail address.")
        if not theirs <= within:
            raise Forbidden(
                "This person also belongs to workspaces you do not administer: an operator "
                "resets their password (saas-tracker admin reset-password)."
            )
    link = _issue_link(
        session,
        purpose=LinkPurpose.set_password,
        email=address,
        ttl=ttl,
        actor=actor,
        user_id=user.id,
    )
    audit.record(
        session,
        actor=actor,
        action="user.password_reset_link",
        after={"email": address, "expires_at": link.expires_at.isoformat()},
    )
    return link


def set_password(
    session: Session, *, token: str, password: str, passwords: Passwords, session_ttl: timedelta
) -> IssuedSession:
    """Set the password of a set-password link's user, end their sessions, sign them in."""
    link = _valid_link(session, token=token, purpose=LinkPurpose.set_password)
    assert link.user_id is not None
    user = get_user(session, link.user_id)
    passwords.check_strength(password, email=user.email)
    _consume(session, link)
    _set_password(session, user=user, password=password, passwords=passwords)
    revoke_sessions(session, user_id=user.id)
    audit.record(
        session, actor=f"user:{user.id}", action="user.set_password", after={"email": user.email}
    )
    return issue_session(session, user=user, ttl=session_ttl)


def change_password(
    session: Session,
    *,
    user_id: UUID,
    session_id: UUID,
    current_password: str,
    new_password: str,
    passwords: Passwords,
) -> None:
    """Change the user's password; their other sessions end (this one goes on)."""
    user = get_user(session, user_id)
    if not passwords.verify(user.password_hash, current_password):
        raise BadUserInput("The current password is wrong.", field="currentPassword")
    passwords.check_strength(new_password, field="newPassword", email=user.email)
    _set_password(session, user=user, password=new_password, passwords=passwords)
    revoke_sessions(session, user_id=user.id, keep=session_id)
    audit.record(
        session,
        actor=f"user:{user.id}",
        action="user.change_password",
        after={"email": user.email},
    )


# --- members --------------------------------------------------------------------------------


def _memberships(session: Session, user_id: UUID) -> list[Membership]:
    return list(session.exec(select(Membership).where(Membership.user_id == user_id)))


def _member(session: Session, *, workspace_id: UUID, email: str) -> tuple[Membership, User]:
    address = normalize_email(email)
    found = session.exec(
        select(Membership, User)
        .join(User, col(Membership.user_id) == col(User.id))
        .where(Membership.workspace_id == workspace_id, User.email == address)
    ).first()
    if found is None:
        raise NotFound("No member of the workspace has this e-mail address.")
    return found


def _admins(session: Session, workspace_id: UUID) -> int:
    return session.exec(
        select(func.count())
        .select_from(Membership)
        .where(Membership.workspace_id == workspace_id, Membership.role == Role.admin)
    ).one()


def _refuse_last_admin(session: Session, membership: Membership, doing: str) -> None:
    if membership.role is Role.admin and _admins(session, membership.workspace_id) <= 1:
        raise BadUserInput(
            f"Cannot {doing} the workspace's last admin: make another member admin first.",
            field="email",
        )


def set_member_role(
    session: Session, *, workspace_id: UUID, email: str, role: Role, actor: str
) -> MemberView:
    _workspace_role(role)
    # Locked: two admins demoting each other at once cannot leave the workspace without one.
    get_workspace(session, workspace_id, lock=True)
    membership, user = _member(session, workspace_id=workspace_id, email=email)
    before = membership.role
    if role is not Role.admin:
        _refuse_last_admin(session, membership, "demote")
    membership.role = role
    session.add(membership)
    if before is not role:
        audit.record(
            session,
            actor=actor,
            action="member.set_role",
            workspace_id=workspace_id,
            before={"email": user.email, "role": before.value},
            after={"email": user.email, "role": role.value},
        )
    return MemberView(user.id, user.email, role, membership.created_at)


def remove_member(session: Session, *, workspace_id: UUID, email: str, actor: str) -> None:
    """Remove a member: their sessions stop working in this workspace at once (each request
    checks the membership); their other workspaces are untouched."""
    get_workspace(session, workspace_id, lock=True)
    membership, user = _member(session, workspace_id=workspace_id, email=email)
    _refuse_last_admin(session, membership, "remove")
    session.delete(membership)
    audit.record(
        session,
        actor=actor,
        action="member.remove",
        workspace_id=workspace_id,
        before={"email": user.email, "role": membership.role.value},
    )
