"""A worker process killed with SIGKILL in the middle of its batches loses nothing.

The server runs as a real `saas-tracker serve` process, in Redis mode and in the embedded mode
(queue on local disk); after the kill and a restart, every event that was answered 202 is in
ClickHouse exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from app.ingest.signature import sign_headers
from tests.harness import wait_drained


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["redis", "embedded"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    environment = {
        **os.environ,
        "SAAS_TRACKER_DATA_DIR": str(tmp_path / "data"),
        "SAAS_TRACKER_CLICKHOUSE_URL": f"chdb://{tmp_path / 'clickhouse'}?database=crash",
        "SAAS_TRACKER_REDIS_URL": redis_url,
        "SAAS_TRACKER_REDIS_HEARTBEAT_TIMEOUT_MS": "2000",
        "SAAS_TRACKER_REDIS_MAINTENANCE_CHANCE": "1000000",
        "SAAS_TRACKER_BATCH_MAX_WAIT_S": "0.3",
    }
    if not redis_url:
        del environment["SAAS_TRACKER_REDIS_URL"]
    return environment


def _cli(env: dict[str, str], *args: str) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    procs: list[subprocess.Popen[bytes]] = []
    port = _free_port()

    def start() -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"serve-{len(procs)}.log", "wb")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / f"serve-{len(procs) - 1}.log").read_text()
            time.sleep(0.2)
        pytest.fail("serve did not become ready")

    yield start, port  # type: ignore[misc]
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigkill_during_batches_loses_no_acknowledged_event_and_duplicates_none(
    env: dict[str, str], server: tuple, tmp_path: Path
) -> None:
    start, port = server
    workspace = _cli(env, "admin", "create-workspace", "Crash Co", "--plan", "growth")
    app = _cli(env, "admin", "create-app", workspace["workspace_id"], "crash app")
    proc = start()

    acknowledged: list[str] = []
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            while not stop.is_set():
                batch = [
                    {
                        "event": "ai_call_completed",
                        "event_id": str(uuid.uuid4()),
                        "customer_org_id": "c1",
                        "properties": {
                            "feature": "f",
                            "provider": "openai",
                            "model": "gpt-5.4-mini",
                            "estimated_cost_eur": 0.01,
                        },
                    }
                    for _ in range(50)
                ]
                body = orjson.dumps({"batch": batch})
                headers = {"x-app-uuid": app["app_uuid"], **sign_headers(app["api_secret"], body)}
                try:
                    response = client.post("/v1/ingest", content=body, headers=headers)
                except httpx.HTTPError:
                    continue  # not acknowledged: the client would retry
                if response.status_code == 202:
                    acknowledged.extend(response.json()["event_ids"])

    senders = [threading.Thread(target=send) for _ in range(4)]
    for t in senders:
        t.start()
    while len(acknowledged) < 3000:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stop.set()
    for t in senders:
        t.join()
    assert len(acknowledged) >= 3000

    restarted = start()
    # The dead worker's unacknowledged messages are requeued once its heartbeat times out;
    # rows the killed process inserted into `events` before dying are complete only once they
    # have been written again (that derives ai_usage_events).
    wait_drained(env, port)
    restarted.send_signal(signal.SIGTERM)
    restarted.wait(60)
    query = (
        "import json, sys; from app.analytics.store import open_store; "
        f"s = open_store({env['SAAS_TRACKER_CLICKHOUSE_URL']!r}); "
        "from app.analytics.rollups import ROLLUPS; "
        "print(json.dumps([[r['event_id'] for r in s.query(f'SELECT event_id FROM {t}')]"
        " for t in ('events', 'ai_usage_events')]"
        " + [{r.name: [r.source,"
        " int(s.query(f'SELECT sum(source_rows) AS n FROM {r.name}')[0]['n'])] for r in ROLLUPS}]))"
    )
    stored, ai_usage, rolled_up = json.loads(
        subprocess.run(
            [sys.executable, "-c", query], env=env, check=True, capture_output=True, text=True
        ).stdout
    )
    assert len(stored) == len(set(stored)), "an event was stored twice"
    assert sorted(ai_usage) == sorted(stored), "ai_usage_events disagrees with events"
    assert set(acknowledged) - set(stored) == set(), "an acknowledged event was lost"
    # Every rollup sums each row of its source once, whatever the kill interrupted
    # (app/analytics/rollups.py).
    rows = {"events": len(stored), "ai_usage_events": len(ai_usage)}
    assert rolled_up == {name: [source, rows[source]] for name, (source, _) in rolled_up.items()}
