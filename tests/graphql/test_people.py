"""People through GraphQL: invitations, sign-in with cookies, CSRF, workspaces, members,
passwords, sign-in throttling and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select, update

from app.accounts.models import AccessLink, Role
from app.accounts.service import hash_token
from app.audit import AuditEntry
from app.db import session_scope, utcnow
from tests.accounts.people import (
    PASSWORD,
    bearer,
    data,
    error,
    forget_sign_in_failures,
    gql,
    join,
    make_user,
    module_api,
    sign_in,
    unique_email,
)
from tests.conftest import ProcessDatabase
from tests.graphql.conftest import Api, Tenant

LOGIN = """
mutation ($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    user { email } workspaces { id name role } expiresAt token
  }
}
"""
INVITE = """
mutation ($email: String!, $role: Role!) {
  inviteMember(email: $email, role: $role) { email role url token expiresAt }
}
"""
ACCEPT = """
mutation ($token: String!, $password: String!) {
  acceptInvitation(token: $token, password: $password) { user { email } workspaces { name role } }
}
"""
REMOVE = "mutation ($e: String!) { removeMember(email: $e) }"
SET_ROLE = "mutation ($e: String!, $r: Role!) { setMemberRole(email: $e, role: $r) { role } }"
RESET = "mutation ($e: String!) { resetMemberPassword(email: $e) { url token } }"
VIEWER = "{ viewer { role user { email } workspace { name } workspaces { name role } } }"
WRONG = {
    "message": "Wrong e-mail address or password.",
    "code": "UNAUTHENTICATED",
    "status": 401,
}


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    process_clickhouse: ProcessDatabase,
) -> Iterator[Api]:
    with module_api(
        tmp_path_factory,
        sqlite_template,
        process_clickhouse,
        login_account_lockout_after=3,
        login_address_lockout_after=5,
    ) as api:
        yield api


@pytest.fixture(autouse=True)
def _uncounted(api: Api) -> None:
    forget_sign_in_failures(api.runtime.engine)


@pytest.fixture
def ada() -> str:
    return unique_email("ada")


@pytest.fixture
def bob() -> str:
    return unique_email("bob")


def _cookies(response_headers: list[str]) -> dict[str, dict[str, Any]]:
    """Each Set-Cookie header as {name: {"value", and its attributes}}."""
    found: dict[str, dict[str, Any]] = {}
    for header in response_headers:
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            found[name] = {
                "value": morsel.value,
                "httponly": bool(morsel["httponly"]),
                "secure": bool(morsel["secure"]),
                "samesite": morsel["samesite"],
                "path": morsel["path"],
                "max-age": morsel["max-age"],
            }
    return found


def _login(api: Api, email: str, password: str = PASSWORD) -> dict[str, Any]:
    return gql(api.client, LOGIN, {"email": email, "password": password})


def test_an_invited_person_signs_in_with_a_cookie_and_sees_only_their_workspaces(
    api: Api, tenant: Tenant, ada: str
) -> None:
    api.tenant(name="Globex")  # another workspace, which the person must not see
    invitation = data(
        api.client,
        INVITE,
        {"email": ada.upper(), "role": "MEMBER"},
        bearer(tenant.admin_token),
    )["inviteMember"]
    assert invitation["email"] == ada
    assert invitation["url"] == (
        f"{api.runtime.settings.public_url}/#/accept-invitation?token={invitation['token']}"
    )
    accepted = data(api.client, ACCEPT, {"token": invitation["token"], "password": PASSWORD})
    assert accepted["acceptInvitation"] == {
        "user": {"email": ada},
        "workspaces": [{"name": "Acme", "role": "MEMBER"}],
    }

    response = api.client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"email": ada, "password": PASSWORD}},
    )
    session = response.json()["data"]["login"]
    cookies = _cookies(response.headers.get_list("set-cookie"))
    assert session["token"] == cookies["st_session"]["value"]
    headers = {
        "cookie": f"st_session={cookies['st_session']['value']}; "
        f"st_csrf={cookies['st_csrf']['value']}"
    }
    assert data(api.client, VIEWER, headers=headers)["viewer"] == {
        "role": "MEMBER",
        "user": {"email": ada},
        "workspace": {"name": "Acme"},
        "workspaces": [{"name": "Acme", "role": "MEMBER"}],
    }


def test_login_sets_an_httponly_session_cookie_and_a_readable_csrf_cookie(
    api: Api, tenant: Tenant, ada: str
) -> None:
    make_user(
        api.runtime.engine,
        api.runtime.settings,
        email=ada,
        workspace_id=tenant.workspace_id,
    )
    response = api.client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"email": ada, "password": PASSWORD}},
    )
    cookies = _cookies(response.headers.get_list("set-cookie"))
    ttl = str(api.runtime.settings.session_ttl_s)
    assert {name: {k: v for k, v in c.items() if k != "value"} for name, c in cookies.items()} == {
        "st_session": {
            "httponly": True,
            "secure": True,
            "samesite": "lax",
            "path": "/",
            "max-age": ttl,
        },
        "st_csrf": {
            "httponly": False,
            "secure": True,
            "samesite": "lax",
            "path": "/",
            "max-age": ttl,
        },
    }


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    api: Api, tenant: Tenant, ada: str
) -> None:
    make_user(
        api.runtime.engine,
        api.runtime.settings,
        email=ada,
        workspace_id=tenant.workspace_id,
    )
    wrong_password = _login(api, ada, "not the password")
    unknown_email = _login(api, "nobody@example.com", PASSWORD)
    for body in (wrong_password, unknown_email):
        assert body["data"] is None
        assert [{"message": e["message"], **e["extensions"]} for e in body["errors"]] == [WRONG]


def test_repeated_failures_refuse_the_right_password_for_a_while(
    api: Api, tenant: Tenant, ada: str
) -> None:
    make_user(
        api.runtime.engine,
        api.runtime.settings,
        email=ada,
        workspace_id=tenant.workspace_id,
    )
    for _ in range(3):
        assert (
            error(api.client, LOGIN, {"email": ada, "password": "guess-guess"})["code"]
            == "UNAUTHENTICATED"
        )
    refused = error(api.client, LOGIN, {"email": ada, "password": PASSWORD})
    assert refused == {
        "message": "Too many failed sign-ins: try again in 15 minute(s).",
        "code": "TOO_MANY_REQUESTS",
        "status": 429,
        "retryAfterS": 900,
    }


def test_the_refusal_is_the_same_for_an_address_without_an_account(api: Api) -> None:
    for _ in range(3):
        error(api.client, LOGIN, {"email": "nobody@example.com", "password": "guess-guess"})
    refused = error(api.client, LOGIN, {"email": "nobody@example.com", "password": PASSWORD})
    assert (refused["code"], refused["message"]) == (
        "TOO_MANY_REQUESTS",
        "Too many failed sign-ins: try again in 15 minute(s).",
    )


def test_failures_from_one_client_address_refuse_every_account_from_it(
    api: Api, tenant: Tenant, ada: str
) -> None:
    make_user(
        api.runtime.engine,
        api.runtime.settings,
        email=ada,
        workspace_id=tenant.workspace_id,
    )
    for number in range(5):
        error(api.client, LOGIN, {"email": f"guess{number}@example.com", "password": "guess-guess"})
    assert (
        error(api.client, LOGIN, {"email": ada, "password": PASSWORD})["code"]
        == "TOO_MANY_REQUESTS"
    )


def test_a_success_clears_the_failures_of_the_account(api: Api, tenant: Tenant, ada: str) -> None:
    make_user(
        api.runtime.engine,
        api.runtime.settings,
        email=ada,
        workspace_id=tenant.workspace_id,
    )
    for _ in range(2):
        error(api.client, LOGIN, {"email": ada, "password": "guess-guess"})
    assert "errors" not in _login(api, ada)
    for _ in range(2):
        error(api.client, LOGIN, {"email": ada, "password": "guess-guess"})
    assert "errors" not in _login(api, ada)


def test_a_cookie_mutation_without_the_csrf_header_is_forbidden(
    api: Api, tenant: Tenant, ada: str
) -> None:
    user = make_user(
        api.runtime.engine,
        api.runtime.settings,
        email=ada,
        workspace_id=tenant.workspace_id,
        role=Role.admin,
    )
    signed = sign_in(api.runtime.engine, user_id=user)
    create = 'mutation { createApp(name: "Web") { name } }'
    expected = {
        "message": "Send the header 'x-csrf-token' with the value of the cookie 'st_csrf'.",
        "code": "FORBIDDEN",
        "status": 403,
    }
    assert error(api.client, create, headers=signed.browser(csrf=False)) == expected
    forged = {**signed.browser(csrf=False), "x-csrf-token": "forged"}
    assert error(api.client, create, headers=forged) == expected
    assert data(api.client, create, headers=signed.browser()) == {"createApp": {"name": "Web"}}


def test_a_cookie_query_needs_no_csrf_header_nor_a_bearer_session_token(
    api: Api, tenant: Tenant, ada: str
) -> None:
    user = make_user(
        api.runtime.engine,
        api.runtime.settings,
        email=ada,
        workspace_id=tenant.workspace_id,
        role=Role.admin,
    )
    signed = sign_in(api.runtime.engine, user_id=user)
    assert data(api.client, "{ apps { name } }", headers=signed.browser(csrf=False)) == {
        "apps": [{"name": "Acme web"}]
    }
    created = data(
        api.client, 'mutation { createApp(name: "Web") { name } }', headers=signed.bearer()
    )
    assert created == {"createApp": {"name": "Web"}}


def test_logout_ends_the_session_and_clears_the_cookies(api: Api, tenant: Tenant, ada: str) -> None:
    user = make_user(
        api.runtime.engine,
        api.runtime.settings,
        email=ada,
        workspace_id=tenant.workspace_id,
    )
    signed = sign_in(api.runtime.engine, user_id=user)
    response = api.client.post(
        "/graphql", json={"query": "mutation { logout }"}, headers=signed.browser()
    )
    assert response.json() == {"data": {"logout": True}}
    cleared = _cookies(response.headers.get_list("set-cookie"))
    assert {name: (c["value"], c["max-age"]) for name, c in cleared.items()} == {
        "st_session": ("", "0"),
        "st_csrf": ("", "0"),
    }
    assert error(api.client, VIEWER, headers=signed.browser()) == {
        "message": "The session has expired or ended: sign in again.",
        "code": "UNAUTHENTICATED",
        "status": 401,
    }


def test_an_expired_session_is_unauthenticated(api: Api, tenant: Tenant, ada: str) -> None:
    user = make_user(
        api.runtime.engine,
        api.runtime.settings,
        email=ada,
        workspace_id=tenant.workspace_id,
    )
    signed = sign_in(api.runtime.engine, user_id=user, ttl=timedelta(seconds=-1))
    assert error(api.client, VIEWER, headers=signed.bearer())["code"] == "UNAUTHENTICATED"


def test_changing_the_password_ends_the_other_sessions(api: Api, tenant: Tenant, ada: str) -> None:
    engine, settings = api.runtime.engine, api.runtime.settings
    user = make_user(engine, settings, email=ada, workspace_id=tenant.workspace_id)
    this, other = sign_in(engine, user_id=user), sign_in(engine, user_id=user)
    change = (
        "mutation ($c: String!, $n: String!) "
        "{ changePassword(currentPassword: $c, newPassword: $n) }"
    )
    wrong = error(api.client, change, {"c": "not it at all", "n": "a new password"}, this.browser())
    assert wrong == {
        "message": "The current password is wrong.",
        "code": "BAD_USER_INPUT",
        "status": 400,
        "field": "currentPassword",
    }
    changed = data(api.client, change, {"c": PASSWORD, "n": "a new password"}, this.browser())
    assert changed == {"changePassword": True}
    assert data(api.client, "{ viewer { role } }", headers=this.browser()) == {
        "viewer": {"role": "MEMBER"}
    }
    assert error(api.client, VIEWER, headers=other.browser())["code"] == "UNAUTHENTICATED"
    assert error(api.client, LOGIN, {"email": ada, "password": PASSWORD}) == WRONG
    assert "errors" not in _login(api, ada, "a new password")


def test_a_reset_link_sets_the_password_once_and_ends_every_session(
    api: Api, tenant: Tenant, ada: str
) -> None:
    engine, settings = api.runtime.engine, api.runtime.settings
    user = make_user(engine, settings, email=ada, workspace_id=tenant.workspace_id)
    before = sign_in(engine, user_id=user)
    link = data(
        api.client,
        RESET,
        {"e": ada},
        headers=bearer(tenant.admin_token),
    )["resetMemberPassword"]
    assert link["url"] == f"{settings.public_url}/#/set-password?token={link['token']}"
    set_password = (
        "mutation ($t: String!, $p: String!) { setPassword(token: $t, password: $p) "
        "{ user { email } } }"
    )
    done = data(api.client, set_password, {"t": link["token"], "p": "brand new secret"})
    assert done == {"setPassword": {"user": {"email": ada}}}
    assert error(api.client, VIEWER, headers=before.browser())["code"] == "UNAUTHENTICATED"
    again = error(api.client, set_password, {"t": link["token"], "p": "another new one"})
    assert again == {
        "message": "This link is unknown, already used or expired: ask for a new one.",
        "code": "UNAUTHENTICATED",
        "status": 401,
    }
    assert "errors" not in _login(api, ada, "brand new secret")


def test_an_admin_cannot_reset_the_password_of_someone_in_a_workspace_they_do_not_run(
    api: Api, tenant: Tenant, ada: str
) -> None:
    engine, settings = api.runtime.engine, api.runtime.settings
    other = api.tenant(name="Globex")
    user = make_user(engine, settings, email=ada, workspace_id=tenant.workspace_id)
    join(engine, user_id=user, workspace_id=other.workspace_id, role=Role.admin)
    refused = error(
        api.client,
        RESET,
        {"e": ada},
        headers=bearer(tenant.admin_token),
    )
    assert refused["code"] == "FORBIDDEN"


def test_an_expired_invitation_is_unauthenticated(api: Api, tenant: Tenant, ada: str) -> None:
    invitation = data(
        api.client,
        INVITE,
        {"email": ada, "role": "ADMIN"},
        bearer(tenant.admin_token),
    )["inviteMember"]
    with session_scope(api.runtime.engine) as session:
        session.execute(
            update(AccessLink)
            .where(col(AccessLink.token_hash) == hash_token(invitation["token"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    refused = error(api.client, ACCEPT, {"token": invitation["token"], "password": PASSWORD})
    assert (refused["code"], refused["status"]) == ("UNAUTHENTICATED", 401)


def test_an_invitation_for_an_existing_account_needs_its_password(
    api: Api, tenant: Tenant, ada: str
) -> None:
    engine, settings = api.runtime.engine, api.runtime.settings
    other = api.tenant(name="Globex")
    make_user(engine, settings, email=ada, workspace_id=other.workspace_id)
    token = data(
        api.client,
        INVITE,
        {"email": ada, "role": "ADMIN"},
        bearer(tenant.admin_token),
    )["inviteMember"]["token"]
    assert error(api.client, ACCEPT, {"token": token, "password": "taken over!"}) == WRONG
    accepted = data(api.client, ACCEPT, {"token": token, "password": PASSWORD})
    assert accepted["acceptInvitation"]["workspaces"] == [
        {"name": "Globex", "role": "MEMBER"},
        {"name": "Acme", "role": "ADMIN"},
    ]


def test_an_invitation_cannot_set_the_password_of_an_account_that_has_none_yet(
    api: Api, tenant: Tenant, ada: str
) -> None:
    engine, settings = api.runtime.engine, api.runtime.settings
    other = api.tenant(name="Globex")
    make_user(engine, settings, email=ada, workspace_id=other.workspace_id, password=None)
    token = data(api.client, INVITE, {"email": ada, "role": "ADMIN"}, bearer(tenant.admin_token))[
        "inviteMember"
    ]["token"]
    assert error(api.client, ACCEPT, {"token": token, "password": "chosen by the admin"}) == WRONG


def test_a_weak_password_is_bad_user_input(api: Api, tenant: Tenant, ada: str) -> None:
    token = data(
        api.client,
        INVITE,
        {"email": ada, "role": "MEMBER"},
        bearer(tenant.admin_token),
    )["inviteMember"]["token"]
    assert error(api.client, ACCEPT, {"token": token, "password": "short"}) == {
        "message": "A password needs at least 10 characters.",
        "code": "BAD_USER_INPUT",
        "status": 400,
        "field": "password",
    }


def test_the_workspace_header_selects_the_workspace_and_the_viewer_says_which(
    api: Api, tenant: Tenant, ada: str
) -> None:
    engine, settings = api.runtime.engine, api.runtime.settings
    other = api.tenant(name="Globex")
    user = make_user(engine, settings, email=ada, workspace_id=tenant.workspace_id)
    join(engine, user_id=user, workspace_id=other.workspace_id, role=Role.admin)
    signed = sign_in(engine, user_id=user)
    query = "{ viewer { role workspace { name } } apps { name } }"
    assert data(api.client, query, headers=signed.browser()) == {
        "viewer": {"role": "MEMBER", "workspace": {"name": "Acme"}},
        "apps": [{"name": "Acme web"}],
    }
    chosen = {**signed.browser(), "x-workspace-id": str(other.workspace_id)}
    assert data(api.client, query, headers=chosen) == {
        "viewer": {"role": "ADMIN", "workspace": {"name": "Globex"}},
        "apps": [{"name": "Globex web"}],
    }
    stranger = api.tenant(name="Initech")
    refused = error(
        api.client,
        VIEWER,
        headers={**signed.browser(), "x-workspace-id": str(stranger.workspace_id)},
    )
    assert refused == {
        "message": "You are not a member of the workspace x-workspace-id names.",
        "code": "FORBIDDEN",
        "status": 403,
    }


def test_a_removed_member_s_session_stops_working_in_that_workspace(
    api: Api, tenant: Tenant, ada: str
) -> None:
    engine, settings = api.runtime.engine, api.runtime.settings
    other = api.tenant(name="Globex")
    user = make_user(engine, settings, email=ada, workspace_id=tenant.workspace_id)
    join(engine, user_id=user, workspace_id=other.workspace_id, role=Role.member)
    signed = sign_in(engine, user_id=user)
    in_acme = {**signed.browser(), "x-workspace-id": str(tenant.workspace_id)}
    assert "errors" not in gql(api.client, "{ apps { name } }", headers=in_acme)
    removed = data(
        api.client,
        REMOVE,
        {"e": ada},
        headers=bearer(tenant.admin_token),
    )
    assert removed == {"removeMember": True}
    assert error(api.client, "{ apps { name } }", headers=in_acme)["code"] == "FORBIDDEN"
    assert data(api.client, "{ viewer { workspace { name } } }", headers=signed.browser()) == {
        "viewer": {"workspace": {"name": "Globex"}}
    }
    members = data(api.client, "{ members { user { email } } }", headers=bearer(tenant.admin_token))
    assert members == {"members": []}


def test_the_last_admin_can_be_neither_removed_nor_demoted(
    api: Api, tenant: Tenant, ada: str, bob: str
) -> None:
    engine, settings = api.runtime.engine, api.runtime.settings
    make_user(engine, settings, email=ada, workspace_id=tenant.workspace_id, role=Role.admin)
    admin = bearer(tenant.admin_token)
    for mutation, variables in ((REMOVE, {"e": ada}), (SET_ROLE, {"e": ada, "r": "MEMBER"})):
        refused = error(api.client, mutation, variables, headers=admin)
        assert (refused["code"], refused["status"], refused["field"]) == (
            "BAD_USER_INPUT",
            400,
            "email",
        )
    make_user(engine, settings, email=bob, workspace_id=tenant.workspace_id, role=Role.admin)
    demoted = data(api.client, SET_ROLE, {"e": ada, "r": "MEMBER"}, headers=admin)
    assert demoted == {"setMemberRole": {"role": "MEMBER"}}
    assert data(api.client, "{ members { user { email } role } }", headers=admin) == {
        "members": [
            {"user": {"email": ada}, "role": "MEMBER"},
            {"user": {"email": bob}, "role": "ADMIN"},
        ]
    }


def test_sign_ins_and_member_changes_are_audited_without_passwords_or_tokens(
    api: Api, tenant: Tenant, ada: str, bob: str
) -> None:
    admin = bearer(tenant.admin_token)
    started = utcnow()
    make_user(
        api.runtime.engine,
        api.runtime.settings,
        email=bob,
        workspace_id=tenant.workspace_id,
        role=Role.admin,
    )
    invitation = data(api.client, INVITE, {"email": ada, "role": "ADMIN"}, admin)["inviteMember"]
    token = invitation["token"]
    expires_at = datetime.fromisoformat(invitation["expiresAt"])
    data(api.client, ACCEPT, {"token": token, "password": PASSWORD})
    session_token = _login(api, ada)["data"]["login"]["token"]
    error(api.client, LOGIN, {"email": ada, "password": "wrong password!"})
    error(api.client, LOGIN, {"email": PASSWORD, "password": PASSWORD})
    data(api.client, SET_ROLE, {"e": ada, "r": "MEMBER"}, headers=admin)
    data(api.client, REMOVE, {"e": ada}, headers=admin)
    with session_scope(api.runtime.engine) as session:
        entries = session.exec(
            select(AuditEntry).where(col(AuditEntry.at) >= started).order_by(col(AuditEntry.at))
        ).all()
    who = {"email": ada}
    volatile = ("expires_at", "invited_by")

    def stable(values: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if values is None else {k: v for k, v in values.items() if k not in volatile}

    assert [
        (e.action, e.actor.split(":")[0], stable(e.before), stable(e.after)) for e in entries
    ] == [
        ("user.create", "test", None, {"email": bob, "role": "admin"}),
        ("member.invite", "token", None, {**who, "role": "admin"}),
        ("member.join", "user", None, {**who, "role": "admin"}),
        ("session.login", "user", None, {**who, "address": "testclient"}),
        ("session.login_failed", "anonymous", None, {**who, "address": "testclient"}),
        (
            "session.login_failed",
            "anonymous",
            None,
            {"email": "(not an address)", "address": "testclient"},
        ),
        ("member.set_role", "token", {**who, "role": "admin"}, {**who, "role": "member"}),
        ("member.remove", "token", {**who, "role": "member"}, None),
    ]
    invite, join_entry = entries[1], entries[2]
    # The API answers date-times to the millisecond, the audit log to the microsecond.
    audited = datetime.fromisoformat((invite.after or {})["expires_at"])
    assert timedelta(0) <= audited - expires_at < timedelta(milliseconds=1)
    assert (join_entry.after or {})["invited_by"] == invite.actor
    recorded = repr([(e.actor, e.before, e.after) for e in entries])
    for secret in (PASSWORD, "wrong password!", token, session_token):
        assert secret not in recorded
