"""Dead letters: listed for operators, replayed through the queue once their cause is fixed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy.engine import Engine
from sqlmodel import select

from app.audit import AuditEntry
from app.db import session_scope
from app.settings import Settings
from app.workers.dead_letters import DeadLetterStore
from app.workers.local_queue import LocalQueue
from tests.graphql.conftest import Api, Tenant
from tests.workers.rows import queued_row

VIEW = "{ viewer { deadLetters { count oldest } } }"
REPLAY = "mutation($limit: Int) { replayDeadLetters(limit: $limit) }"


def park(api: Api, tenant: Tenant, *event_ids: str) -> None:
    """Dead letters of rows that are fine now (as after the operator fixed the cause)."""
    for event_id in event_ids:
        row = queued_row(
            event_id, workspace_id=str(tenant.workspace_id), app_id=str(tenant.app_uuid)
        )
        api.runtime.dead_letters(row, "Code: 407. DECIMAL_OVERFLOW")


def test_operators_see_how_many_events_are_dead_lettered_and_since_when(
    api: Api, tenant: Tenant
) -> None:
    operator = api.superuser_token()
    assert api.data(VIEW, token=operator)["viewer"]["deadLetters"] == {"count": 0, "oldest": None}
    park(api, tenant, "e1", "e2")
    letters = api.data(VIEW, token=operator)["viewer"]["deadLetters"]
    assert letters["count"] == 2
    assert letters["oldest"] is not None


def test_workspace_tokens_see_no_dead_letters(api: Api, tenant: Tenant) -> None:
    park(api, tenant, "e1")
    assert api.data(VIEW, token=tenant.admin_token)["viewer"]["deadLetters"] is None


def test_a_replay_stores_the_events_once_and_empties_the_dead_letters(
    api: Api, tenant: Tenant
) -> None:
    operator = api.superuser_token()
    park(api, tenant, "e1", "e2", "e3")
    assert api.data(REPLAY, {"limit": 2}, token=operator) == {"replayDeadLetters": 2}
    assert api.data(REPLAY, token=operator) == {"replayDeadLetters": 1}
    api.runtime.drain()
    stored = api.runtime.store.query("SELECT event_id FROM events ORDER BY event_id")
    assert stored == [{"event_id": "e1"}, {"event_id": "e2"}, {"event_id": "e3"}]
    assert api.data(VIEW, token=operator)["viewer"]["deadLetters"]["count"] == 0


def test_a_replayed_event_already_stored_is_not_stored_twice(api: Api, tenant: Tenant) -> None:
    operator = api.superuser_token()
    park(api, tenant, "e1")
    park(api, tenant, "e1")  # parked twice: a crash between queueing and forgetting it
    assert api.data(REPLAY, token=operator) == {"replayDeadLetters": 2}
    api.runtime.drain()
    assert api.runtime.store.query("SELECT count() AS n FROM events") == [{"n": 1}]


def test_a_replay_is_audited(api: Api, tenant: Tenant) -> None:
    park(api, tenant, "e1")
    api.data(REPLAY, token=api.superuser_token())
    with session_scope(api.runtime.engine) as session:
        entries = list(session.exec(select(AuditEntry)))
    assert [(e.action, e.after) for e in entries] == [
        ("dead_letters.replay", {"replayed": 1, "event_ids": ["e1"]})
    ]


def test_only_operators_may_replay(api: Api, tenant: Tenant) -> None:
    error = api.error(REPLAY, token=tenant.admin_token)
    assert error["extensions"]["code"] == "FORBIDDEN"


def test_a_replay_limit_outside_1_to_10000_is_bad_user_input(api: Api) -> None:
    error = api.error(REPLAY, {"limit": 0}, token=api.superuser_token())
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT",
        "limit",
    )


def test_the_cli_queues_the_dead_letters_for_the_running_server(
    settings: Settings, engine: Engine
) -> None:
    store = DeadLetterStore(engine)
    store(queued_row("e1"), "Code: 407. DECIMAL_OVERFLOW")
    env = {
        **os.environ,
        "SAAS_TRACKER_DATA_DIR": str(settings.data_dir),
        "SAAS_TRACKER_DATABASE_URL": str(settings.database_url),
    }
    env.pop("SAAS_TRACKER_REDIS_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "admin", "replay-dead-letters"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert json.loads(out.stdout) == {"replayed": 1}
    queue = LocalQueue(settings.local_queue_path)
    _, rows = queue.take(10)
    assert [row["event_id"] for row in rows] == ["e1"]
    assert store.summary().count == 0
