"""One authorization matrix: every root query and mutation of the schema, called by every kind
of caller, with the exact outcome of each (data, or the error's code).

The schema is introspected: a root field without a row here fails the suite, so that no new
operation ships without its authorization decided. Credentials are made once per caller, and
fresh ones (of a new person) for the operations that end sessions; where an operation consumes
or changes something (a link, a key, a member), each case gets a fresh one of those: the
outcome of one case never depends on another. One app serves the whole module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from graphql import GraphQLSchema

from app.accounts import people, service
from app.accounts.models import Role
from app.accounts.passwords import passwords_for
from app.db import session_scope, utcnow
from app.graphql.node import encode_node_id
from app.graphql.schema import make_schema
from tests.accounts.people import (
    PASSWORD,
    bearer,
    gql,
    make_user,
    module_api,
    sign_in,
    unique_email,
)
from tests.conftest import ProcessDatabase
from tests.graphql.conftest import Api, Tenant

DATA = "data"
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"

# Who calls. "admin" and "member" are people signed in through the browser (cookies and the
# CSRF header); "admin_without_csrf" is the admin's browser without the header; "other_admin"
# administers another workspace than the one every object below belongs to.
PRINCIPALS = (
    "anonymous",
    "expired_session",
    "revoked_key",
    "read_key",
    "member",
    "admin",
    "admin_without_csrf",
    "other_admin",
    "superuser",
)
_NO_CREDENTIAL = dict.fromkeys(("anonymous", "expired_session", "revoked_key"), UNAUTHENTICATED)

# What each kind of operation answers each caller.
AUTHENTICATED = _NO_CREDENTIAL | dict.fromkeys(PRINCIPALS[3:], DATA)
WORKSPACE_READ = AUTHENTICATED | {"superuser": FORBIDDEN}
# A read naming an object of the first workspace: another workspace's admin does not find it.
WORKSPACE_OBJECT_READ = WORKSPACE_READ | {"other_admin": NOT_FOUND}
OPERATOR = _NO_CREDENTIAL | dict.fromkeys(PRINCIPALS[3:8], FORBIDDEN) | {"superuser": DATA}
# Workspace changes: another workspace's admin changes their own workspace.
WORKSPACE_ADMIN = _NO_CREDENTIAL | {
    "read_key": FORBIDDEN,
    "member": FORBIDDEN,
    "admin": DATA,
    "admin_without_csrf": FORBIDDEN,
    "other_admin": DATA,
    "superuser": FORBIDDEN,
}
WORKSPACE_OBJECT_ADMIN = WORKSPACE_ADMIN | {"other_admin": NOT_FOUND}
# Sign-in and links: no credential needed, but a READ key may call no mutation at all.
PUBLIC = dict.fromkeys(PRINCIPALS, DATA) | {"read_key": FORBIDDEN}
# A person's own session and password.
SIGNED_IN = WORKSPACE_ADMIN | {"member": DATA}


@dataclass
class World:
    """Two workspaces and their people; `api` serves them."""

    api: Api
    acme: Tenant
    globex: Tenant
    spare_app: UUID
    member: UUID
    admin: UUID
    other_admin: UUID
    # A member of Acme only, whose role and password links the admins change.
    stable_member: str
    signer: str
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)

    def headers(self, principal: str, *, fresh: bool = False) -> dict[str, str]:
        """The credentials of `principal`, made on first use; `fresh`: new ones, of a new
        person for a signed-in principal (for operations that end a person's sessions)."""
        if fresh:
            return self._credentials(principal, fresh=True)
        if principal not in self.credentials:
            self.credentials[principal] = self._credentials(principal, fresh=False)
        return self.credentials[principal]

    def _credentials(self, principal: str, *, fresh: bool) -> dict[str, str]:
        engine = self.api.runtime.engine
        if principal == "anonymous":
            return {}
        if principal in ("revoked_key", "read_key"):
            with session_scope(engine) as session:
                role = Role.member if principal == "read_key" else Role.admin
                row, key = service.issue_token(
                    session,
                    role=role,
                    workspace_id=self.acme.workspace_id,
                    superuser_id=None,
                    name=principal,
                )
                if principal == "revoked_key":
                    row.revoked_at = utcnow()
            return bearer(key)
        if principal == "superuser":
            with session_scope(engine) as session:
                return bearer(service.create_superuser(session, email="ops@example.com"))
        tenant, role, user = {
            "expired_session": (self.acme, Role.member, self.member),
            "member": (self.acme, Role.member, self.member),
            "admin": (self.acme, Role.admin, self.admin),
            "admin_without_csrf": (self.acme, Role.admin, self.admin),
            "other_admin": (self.globex, Role.admin, self.other_admin),
        }[principal]
        if fresh:
            user = make_user(
                engine,
                self.api.runtime.settings,
                email=unique_email(principal.replace("_", "-")),
                workspace_id=tenant.workspace_id,
                role=role,
            )
        expired = principal == "expired_session"
        signed = sign_in(engine, user_id=user, ttl=timedelta(seconds=-1 if expired else 3600))
        return signed.browser(csrf=principal != "admin_without_csrf")

    def fresh_member(self) -> str:
        email = unique_email("leaver")
        make_user(
            self.api.runtime.engine,
            self.api.runtime.settings,
            email=email,
            workspace_id=self.acme.workspace_id,
        )
        return email

    def fresh_link(self, *, invitation: bool) -> str:
        engine, settings = self.api.runtime.engine, self.api.runtime.settings
        with session_scope(engine) as session:
            if invitation:
                link = people.invite_member(
                    session,
                    workspace_id=self.acme.workspace_id,
                    email=unique_email("invited"),
                    role=Role.member,
                    actor="test",
                    ttl=timedelta(hours=1),
                )
            else:
                _, created = people.create_user(
                    session,
                    email=unique_email("new"),
                    workspace_id=self.acme.workspace_id,
                    role=Role.member,
                    actor="test",
                    passwords=passwords_for(settings),
                    password=None,
                    link_ttl=timedelta(hours=1),
                )
                assert created is not None
                link = created
        return link.token

    def fresh_key_id(self) -> str:
        with session_scope(self.api.runtime.engine) as session:
            row, _ = service.issue_token(
                session,
                role=Role.member,
                workspace_id=self.acme.workspace_id,
                superuser_id=None,
                name="to revoke",
            )
            session.flush()
            return str(row.id)


Variables = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    document: str
    expected: dict[str, str]
    variables: Variables = lambda _world: {}
    # The operation ends sessions of the caller: it gets credentials of its own.
    ends_sessions: bool = False


def _app(world: World) -> dict[str, Any]:
    return {"u": str(world.acme.app_uuid)}


SIGNALS = [{"signal": "ACTIVE_USERS", "weight": 1, "good": 3, "bad": 1}]

MATRIX: dict[str, Row] = {
    # --- queries ---------------------------------------------------------------------------
    "viewer": Row("{ viewer { role } }", AUTHENTICATED),
    "apps": Row("{ apps { uuid } }", WORKSPACE_READ),
    "app": Row("query ($u: UUID!) { app(uuid: $u) { uuid } }", WORKSPACE_OBJECT_READ, _app),
    "trackingSnippet": Row(
        "query ($u: UUID) { trackingSnippet(appUuid: $u) { curl } }", WORKSPACE_OBJECT_READ, _app
    ),
    "events": Row("{ events { eventId } }", WORKSPACE_READ),
    "eventsPage": Row("{ eventsPage { __typename } }", WORKSPACE_READ),
    "ingestStatus": Row("{ ingestStatus { __typename } }", WORKSPACE_READ),
    "aiCost": Row("{ aiCost(by: MODEL) { calls } }", WORKSPACE_READ),
    "modelCatalog": Row("{ modelCatalog { canonicalModelKey } }", AUTHENTICATED),
    "customerPrices": Row("{ customerPrices { canonicalModelKey } }", WORKSPACE_READ),
    "unmappedModels": Row("{ unmappedModels { model } }", OPERATOR),
    "fxRates": Row("{ fxRates { currency } }", OPERATOR),
    "auditLog": Row("{ auditLog { hasMore } }", OPERATOR),
    "organizations": Row("{ organizations { customerOrgId } }", WORKSPACE_READ),
    "organization": Row(
        '{ organization(customerOrgId: "acme-corp") { customerOrgId } }', WORKSPACE_READ
    ),
    "healthModelConfig": Row("{ healthModelConfig { isDefault } }", WORKSPACE_READ),
    "plans": Row("{ plans { key } }", AUTHENTICATED),
    "workspaces": Row("{ workspaces { __typename } }", OPERATOR),
    "members": Row("{ members { role } }", WORKSPACE_READ),
    "apiKeys": Row("{ apiKeys { id } }", WORKSPACE_READ),
    # Any credential may ask; what it may not see is null (tests/graphql/test_node.py).
    "node": Row(
        "query ($id: ID!) { node(id: $id) { id } }",
        AUTHENTICATED,
        lambda world: {"id": encode_node_id("App", str(world.acme.app_uuid))},
    ),
    "eventsConnection": Row("{ eventsConnection { pageInfo { hasNextPage } } }", WORKSPACE_READ),
    "organizationsConnection": Row(
        "{ organizationsConnection { pageInfo { hasNextPage } } }", WORKSPACE_READ
    ),
    "workspacesConnection": Row("{ workspacesConnection { pageInfo { hasNextPage } } }", OPERATOR),
    "auditLogConnection": Row("{ auditLogConnection { pageInfo { hasNextPage } } }", OPERATOR),
    # --- mutations -------------------------------------------------------------------------
    "createApp": Row('mutation { createApp(name: "Matrix") { uuid } }', WORKSPACE_ADMIN),
    "rotateAppSecret": Row(
        "mutation ($u: UUID!) { rotateAppSecret(uuid: $u) { uuid } }", WORKSPACE_OBJECT_ADMIN, _app
    ),
    "deactivateApp": Row(
        "mutation ($u: UUID!) { deactivateApp(uuid: $u) { uuid } }",
        WORKSPACE_OBJECT_ADMIN,
        lambda world: {"u": str(world.spare_app)},
    ),
    "setCustomerPrice": Row(
        'mutation { setCustomerPrice(canonicalModelKey: "openai/gpt-5.4-mini", '
        'inputPerMillionEur: "1", outputPerMillionEur: "2") { canonicalModelKey } }',
        WORKSPACE_ADMIN,
    ),
    "replayDeadLetters": Row("mutation { replayDeadLetters(limit: 10) }", OPERATOR),
    "createModelAlias": Row(
        'mutation { createModelAlias(provider: "matrix", model: "alias", '
        'canonicalModelKey: "openai/gpt-5.4-mini") { model } }',
        OPERATOR,
    ),
    "createCatalogModel": Row(
        'mutation { createCatalogModel(provider: "matrix", model: "new") { canonicalModelKey } }',
        OPERATOR,
    ),
    "setCatalogPrice": Row(
        'mutation { setCatalogPrice(canonicalModelKey: "openai/gpt-5.4-mini", '
        'validFrom: "2020-01-01T00:00:00Z", inputPerMillionEur: "1", '
        'outputPerMillionEur: "2") { validFrom } }',
        OPERATOR,
    ),
    "setFxRate": Row(
        'mutation { setFxRate(currency: "USD", validFrom: "2020-01-01T00:00:00Z", '
        'rateToEur: "0.9") { currency } }',
        OPERATOR,
    ),
    "configureHealthModel": Row(
        "mutation ($s: [HealthSignalInput!]!) { configureHealthModel(signals: $s) { isDefault } }",
        WORKSPACE_ADMIN,
        lambda _world: {"s": SIGNALS},
    ),
    "resetHealthModel": Row("mutation { resetHealthModel { isDefault } }", WORKSPACE_ADMIN),
    "setOrganizationPlan": Row(
        'mutation { setOrganizationPlan(customerOrgId: "acme-corp", plan: "pro") { plan } }',
        WORKSPACE_ADMIN,
    ),
    "setWorkspacePlan": Row(
        'mutation ($w: UUID!) { setWorkspacePlan(workspaceId: $w, plan: "growth") '
        "{ plan { key } } }",
        OPERATOR,
        lambda world: {"w": str(world.acme.workspace_id)},
    ),
    "setSubscriptionOverrides": Row(
        "mutation ($w: UUID!) { setSubscriptionOverrides(workspaceId: $w) { __typename } }",
        OPERATOR,
        lambda world: {"w": str(world.acme.workspace_id)},
    ),
    "login": Row(
        "mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { expiresAt } }",
        PUBLIC,
        lambda world: {"e": world.signer, "p": PASSWORD},
    ),
    "logout": Row("mutation { logout }", SIGNED_IN, ends_sessions=True),
    "acceptInvitation": Row(
        "mutation ($t: String!, $p: String!) { acceptInvitation(token: $t, password: $p) "
        "{ expiresAt } }",
        PUBLIC,
        lambda world: {"t": world.fresh_link(invitation=True), "p": PASSWORD},
    ),
    "setPassword": Row(
        "mutation ($t: String!, $p: String!) { setPassword(token: $t, password: $p) "
        "{ expiresAt } }",
        PUBLIC,
        lambda world: {"t": world.fresh_link(invitation=False), "p": PASSWORD},
    ),
    "changePassword": Row(
        "mutation ($p: String!) { changePassword(currentPassword: $p, newPassword: $p) }",
        SIGNED_IN,
        lambda _world: {"p": PASSWORD},
        ends_sessions=True,
    ),
    "inviteMember": Row(
        "mutation ($e: String!) { inviteMember(email: $e, role: MEMBER) { expiresAt } }",
        WORKSPACE_ADMIN,
        lambda world: {"e": unique_email("invitee")},
    ),
    "setMemberRole": Row(
        "mutation ($e: String!) { setMemberRole(email: $e, role: MEMBER) { role } }",
        WORKSPACE_OBJECT_ADMIN,
        lambda world: {"e": world.stable_member},
    ),
    "removeMember": Row(
        "mutation ($e: String!) { removeMember(email: $e) }",
        WORKSPACE_OBJECT_ADMIN,
        lambda world: {"e": world.fresh_member()},
    ),
    "resetMemberPassword": Row(
        "mutation ($e: String!) { resetMemberPassword(email: $e) { expiresAt } }",
        WORKSPACE_OBJECT_ADMIN,
        lambda world: {"e": world.stable_member},
    ),
    "createApiKey": Row(
        'mutation { createApiKey(name: "Matrix", scope: READ) { key } }', WORKSPACE_ADMIN
    ),
    "revokeApiKey": Row(
        "mutation ($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
        WORKSPACE_OBJECT_ADMIN,
        lambda world: {"id": world.fresh_key_id()},
    ),
}


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    process_clickhouse: ProcessDatabase,
) -> Iterator[World]:
    with module_api(tmp_path_factory, sqlite_template, process_clickhouse) as api:
        acme, globex = api.tenant(name="Acme"), api.tenant(name="Globex")
        with session_scope(api.runtime.engine) as session:
            spare = service.create_app(session, workspace_id=acme.workspace_id, name="Spare")
        engine, settings = api.runtime.engine, api.runtime.settings

        def user(tenant: Tenant, role: Role) -> tuple[UUID, str]:
            email = unique_email(role.value)
            return make_user(
                engine, settings, email=email, workspace_id=tenant.workspace_id, role=role
            ), email

        stable_member = user(acme, Role.member)[1]
        _, signer = user(acme, Role.member)
        yield World(
            api=api,
            acme=acme,
            globex=globex,
            spare_app=spare.uuid,
            member=user(acme, Role.member)[0],
            admin=user(acme, Role.admin)[0],
            other_admin=user(globex, Role.admin)[0],
            stable_member=stable_member,
            signer=signer,
        )


def _outcome(body: dict[str, Any], name: str) -> str:
    errors = body.get("errors") or []
    if not errors:
        assert name in (body.get("data") or {}), body
        return DATA
    assert len(errors) == 1, errors
    code: str = errors[0]["extensions"]["code"]
    return code


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return make_schema(production=False)._schema


def test_every_query_and_mutation_has_a_row(schema: GraphQLSchema) -> None:
    assert schema.query_type is not None and schema.mutation_type is not None
    fields = set(schema.query_type.fields) | set(schema.mutation_type.fields)
    assert sorted(fields - MATRIX.keys()) == [], "decide who may call these: add their rows"
    assert sorted(MATRIX.keys() - fields) == [], "these rows name no operation any more"
    assert all(set(row.expected) == set(PRINCIPALS) for row in MATRIX.values())


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_who_may_call_the_operation(world: World, name: str) -> None:
    row = MATRIX[name]
    outcomes = {}
    for principal in PRINCIPALS:
        headers = world.headers(principal, fresh=row.ends_sessions)
        body = gql(world.api.client, row.document, row.variables(world), headers)
        outcomes[principal] = _outcome(body, name)
    assert outcomes == row.expected
