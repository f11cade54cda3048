"""A worker process killed with SIGKILL in the middle of its batches loses nothing.

The server runs as a real `saas-tracker serve` process, in Redis mode and in the embedded mode
(queue on local disk); after the kill and a restart, every event that was answered 202 is in
ClickHouse exactly once.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import wait_drained
from tests.served import Processes, Senders, assert_stored_exactly_once


@pytest.fixture(params=["redis", "embedded"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    environment = {
        **os.environ,
        "SAAS_TRACKER_DATA_DIR": str(tmp_path / "data"),
        "SAAS_TRACKER_CLICKHOUSE_URL": f"chdb://{tmp_path / 'clickhouse'}?database=served",
        "SAAS_TRACKER_REDIS_URL": redis_url,
        "SAAS_TRACKER_REDIS_HEARTBEAT_TIMEOUT_MS": "2000",
        "SAAS_TRACKER_REDIS_MAINTENANCE_CHANCE": "1000000",
        "SAAS_TRACKER_BATCH_MAX_WAIT_S": "0.3",
    }
    if not redis_url:
        del environment["SAAS_TRACKER_REDIS_URL"]
    return environment


@pytest.fixture
def processes(env: dict[str, str], tmp_path: Path) -> Iterator[Processes]:
    processes = Processes(env, tmp_path)
    yield processes
    processes.stop_all()


def test_sigkill_during_batches_loses_no_acknowledged_event_and_duplicates_none(
    env: dict[str, str], processes: Processes
) -> None:
    workspace = processes.cli("admin", "create-workspace", "Crash Co", "--plan", "growth")
    app = processes.cli("admin", "create-app", workspace["workspace_id"], "crash app")
    port = processes.serve()
    proc = processes.last

    with Senders(port, app) as senders:
        senders.wait_for(3000)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    acknowledged = senders.acknowledged
    assert len(acknowledged) >= 3000

    processes.serve(port=port)
    restarted = processes.last
    # The dead worker's unacknowledged messages are requeued once its heartbeat times out;
    # rows the killed process inserted into `events` before dying are complete only once they
    # have been written again (that derives ai_usage_events).
    wait_drained(env, port)
    restarted.send_signal(signal.SIGTERM)
    restarted.wait(60)
    assert_stored_exactly_once(env, acknowledged)
