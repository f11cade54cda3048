"""`serve` on a machine with two cores or more: a front process answers ingest and health
checks, an engine process at a lower CPU priority writes events and serves everything else.

The analytics a dashboard asks for cannot slow ingest down (bench/concurrency.py measures it),
and each half fails on its own: ingest keeps acknowledging while the engine restarts.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.front.engine import ENGINE_NICE
from tests.harness import wait_drained, wait_until
from tests.served import Processes, Senders, assert_stored_exactly_once

# On a single core serve runs as one process: nothing here to test there, but CI (2 cores) must
# run these tests, so there a single core fails them.
pytestmark = pytest.mark.skipif(
    (os.cpu_count() or 1) < 2 and os.environ.get("CI") != "true",
    reason="serve runs as one process on a single core",
)


def environment(folder: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SAAS_TRACKER_")}
    return inherited | {
        "SAAS_TRACKER_DATA_DIR": str(folder / "data"),
        "SAAS_TRACKER_CLICKHOUSE_URL": f"chdb://{folder / 'clickhouse'}?database=served",
        "SAAS_TRACKER_BATCH_MAX_WAIT_S": "0.2",
    }


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return environment(tmp_path)


@pytest.fixture
def processes(env: dict[str, str], tmp_path: Path) -> Iterator[Processes]:
    processes = Processes(env, tmp_path)
    yield processes
    processes.stop_all()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Processes, int]]:
    """One split serve for the tests that only look at it (none stops or kills it)."""
    folder = tmp_path_factory.mktemp("split")
    processes = Processes(environment(folder), folder)
    port = processes.serve()
    yield processes, port
    processes.stop_all()


def engine_of(pid: int) -> int:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    engines = [
        int(child)
        for child in children
        if b"--engine-socket" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]
    assert len(engines) == 1, children
    return engines[0]


def niceness(pid: int) -> int:
    # Field 19 of /proc/PID/stat; the command name (field 2) is in parentheses.
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def is_running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_serve_runs_its_engine_in_a_process_of_lower_cpu_priority(
    served: tuple[Processes, int],
) -> None:
    processes, _ = served
    front = processes.last.pid
    engine = engine_of(front)
    assert (niceness(front), niceness(engine)) == (0, ENGINE_NICE)


def test_serve_single_process_runs_no_engine_process(processes: Processes) -> None:
    processes.serve("--single-process")
    assert Path(f"/proc/{processes.last.pid}/task/{processes.last.pid}/children").read_text() == ""


def test_graphql_is_answered_by_the_engine_through_the_front(
    served: tuple[Processes, int],
) -> None:
    processes, port = served
    workspace = processes.cli("admin", "create-workspace", "Acme", "--plan", "growth")
    response = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": "{ viewer { workspace { name } } }"},
        headers={"authorization": f"Bearer {workspace['token']}"},
    )
    assert (response.status_code, response.json()) == (
        200,
        {"data": {"viewer": {"workspace": {"name": "Acme"}}}},
    )


def test_a_sigkilled_serve_takes_its_engine_with_it(processes: Processes) -> None:
    # Nothing then holds the embedded engine's folder: tests/workers/test_crash_recovery.py
    # starts serve again on it right after such a kill.
    processes.serve()
    front = processes.last
    engine = engine_of(front.pid)
    front.send_signal(signal.SIGKILL)
    front.wait()
    wait_until(lambda: not is_running(engine), timeout=10)


def test_metrics_join_the_front_s_ingest_counts_and_the_engine_s_writing(
    served: tuple[Processes, int],
) -> None:
    processes, port = served
    workspace = processes.cli("admin", "create-workspace", "Metrics Co", "--plan", "growth")
    app = processes.cli("admin", "create-app", workspace["workspace_id"], "metrics app")
    with Senders(port, app, threads=1, batch=10) as senders:
        senders.wait_for(10)
    accepted = len(senders.acknowledged)

    def metrics() -> dict[str, float]:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        values = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name.startswith("saas_tracker_") and "{" not in name:
                values[name] = float(value)
        return values

    def drained() -> bool:
        # Rows are counted when ClickHouse has them, a moment before the queue lets them go.
        figures = metrics()
        written = figures["saas_tracker_rows_written_total"]
        return bool(written == accepted and figures["saas_tracker_queue_depth"] == 0)

    wait_until(drained, 20)
    figures = metrics()
    assert (
        figures["saas_tracker_events_accepted_total"],
        figures["saas_tracker_engine_up"],
        figures["saas_tracker_queue_depth"],
    ) == (accepted, 1.0, 0.0)


def test_ingest_acknowledges_while_the_engine_restarts_and_loses_nothing(
    served: tuple[Processes, int],
) -> None:
    # Last of the module: it stops the shared serve to read what its engine stored.
    processes, port = served
    env = processes.env
    workspace = processes.cli("admin", "create-workspace", "Restart Co", "--plan", "growth")
    app = processes.cli("admin", "create-app", workspace["workspace_id"], "restart app")
    front = processes.last
    with Senders(port, app, threads=2) as senders:
        senders.wait_for(200)
        os.kill(engine_of(front.pid), signal.SIGKILL)
        acknowledged_before = len(senders.acknowledged)
        senders.wait_for(acknowledged_before + 200)
    # The engine is back (restarted by the front) and writes what the front queued meanwhile.
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200, 60)
    wait_drained(env, port)
    front.send_signal(signal.SIGTERM)
    front.wait(60)
    assert_stored_exactly_once(env, senders.acknowledged)
