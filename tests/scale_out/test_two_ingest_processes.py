"""Scale-out on this machine: two stateless ingest processes (`serve --ingest-only`) on the real
PostgreSQL and Redis take concurrent signed traffic, while the one process that owns the
embedded engine consumes Redis; every acknowledged event reaches ClickHouse exactly once."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import psycopg
import pytest

from app.ingest.signature import sign_headers
from tests.conftest import POSTGRES_ADMIN_URL
from tests.harness import wait_drained
from tests.served import Processes, stored_state


@pytest.fixture
def postgres_url() -> Iterator[str]:
    name = f"saas_tracker_scaleout_{os.getpid()}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def processes(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[Processes]:
    env = {
        **os.environ,
        "SAAS_TRACKER_DATA_DIR": str(tmp_path / "data"),
        "SAAS_TRACKER_DATABASE_URL": postgres_url,
        "SAAS_TRACKER_CLICKHOUSE_URL": f"chdb://{tmp_path / 'clickhouse'}?database=served",
        "SAAS_TRACKER_REDIS_URL": redis_url,
        "SAAS_TRACKER_BATCH_MAX_WAIT_S": "0.3",
    }
    procs = Processes(env, tmp_path)
    yield procs
    procs.stop_all()


def test_two_ingest_processes_and_one_engine_owner_store_every_event_once(
    processes: Processes,
) -> None:
    workspace = processes.cli("admin", "create-workspace", "Scale Co", "--plan", "growth")
    app = processes.cli("admin", "create-app", workspace["workspace_id"], "scale app")
    owner = processes.serve("--single-process")
    ingest_ports = [processes.serve("--ingest-only"), processes.serve("--ingest-only")]
    assert httpx.post(f"http://127.0.0.1:{ingest_ports[0]}/graphql").status_code == 404

    acknowledged: list[str] = []
    lock = threading.Lock()

    def send(port: int, requests: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for _ in range(requests):
                batch = [
                    {"event": "page_view", "event_id": str(uuid.uuid4()), "customer_org_id": "o1"}
                    for _ in range(20)
                ]
                body = orjson.dumps({"batch": batch})
                headers = {"x-app-uuid": app["app_uuid"], **sign_headers(app["api_secret"], body)}
                response = client.post("/v1/ingest", content=body, headers=headers)
                assert response.status_code == 202, response.text
                with lock:
                    acknowledged.extend(response.json()["event_ids"])

    senders = [threading.Thread(target=send, args=(p, 60)) for p in ingest_ports for _ in range(3)]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    assert len(acknowledged) == 2 * 3 * 60 * 20

    # The owner's workers write everything the ingest processes queued in Redis.
    wait_drained(processes.env, owner)
    processes.stop_all()

    stored, _, _ = stored_state(processes.env)
    assert len(stored) == len(set(stored)), "an event was stored twice"
    assert sorted(stored) == sorted(acknowledged)
