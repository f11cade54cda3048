"""A disk fills up: every acknowledged event is stored exactly once when it is freed.

A real `saas-tracker serve` keeps the embedded engine's folder on a small tmpfs the test mounts
(the queue and SQLite stay on the ordinary disk). Filling the tmpfs makes ClickHouse refuse to
write (NOT_ENOUGH_SPACE): nothing may be dead-lettered, readiness must say so, and once space
is freed the retries must complete every batch once, in `events`, `ai_usage_events` and every
rollup alike.

The disk filling *while* batches are written lands the failure anywhere: in the `events` insert,
a derivation, a view's part, a background merge; a part can even be committed with a file cut
short, which the writer then rebuilds (app/workers/broken_parts.py).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.ingest.signature import sign_headers
from tests.harness import wait_drained, wait_until
from tests.served import Processes, Senders, ai_calls, assert_stored_exactly_once


@pytest.fixture
def engine_disk(tmp_path: Path) -> Iterator[Path]:
    """A 128 MiB tmpfs of the test's own (mounting needs root, as CI runs)."""
    folder = tmp_path / "engine-disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.fail(f"these tests mount a tmpfs and need root: {mounted.stderr}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=True)


@pytest.fixture
def processes(tmp_path: Path, engine_disk: Path) -> Iterator[Processes]:
    """`serve` with the embedded engine's folder on the small disk."""
    env = {
        **os.environ,
        "SAAS_TRACKER_DATA_DIR": str(tmp_path / "data"),
        "SAAS_TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'relational.sqlite3'}",
        "SAAS_TRACKER_CLICKHOUSE_URL": f"chdb://{engine_disk / 'clickhouse'}?database=served",
        "SAAS_TRACKER_BATCH_MAX_WAIT_S": "0.1",
        "SAAS_TRACKER_WRITE_FAILING_AFTER_S": "0.5",
        "SAAS_TRACKER_DATA_MIN_FREE_MB": "1",
    }
    env.pop("SAAS_TRACKER_REDIS_URL", None)
    processes = Processes(env, tmp_path)
    yield processes
    processes.stop_all()


def fill(disk: Path) -> None:
    """Write a file until the disk has no byte left."""
    filler = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for chunk in (b"\0" * (1 << 20), b"\0" * (1 << 12), b"\0"):
            try:
                while True:
                    os.write(filler, chunk)
            except OSError:
                continue
    finally:
        os.close(filler)


def free(disk: Path) -> None:
    (disk / "filler").unlink(missing_ok=True)


def dead_letters(processes: Processes) -> int:
    database = processes.env["SAAS_TRACKER_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT count(*) FROM dead_letters").fetchone()[0])


def readiness(port: int) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)


def start(processes: Processes) -> tuple[int, dict[str, str]]:
    workspace = processes.cli("admin", "create-workspace", "Full Co", "--plan", "growth")
    app = processes.cli("admin", "create-app", workspace["workspace_id"], "full app")
    return processes.serve("--single-process"), app  # the split has tests of its own


def test_events_acknowledged_while_the_disk_is_full_are_stored_once_it_is_freed(
    processes: Processes, engine_disk: Path
) -> None:
    port, app = start(processes)
    fill(engine_disk)
    with Senders(port, app, threads=2, batch=20) as senders:
        senders.wait_for(200)
    # Every batch failed and stays queued: readiness says why, and nothing was dead-lettered.
    wait_until(lambda: readiness(port).json()["checks"]["writes"] != "ok")
    answer = readiness(port)
    assert answer.status_code == 503
    assert answer.json()["checks"]["writes"].startswith("failing for")
    assert answer.json()["checks"]["disk"] == "0 MiB free"
    assert dead_letters(processes) == 0

    free(engine_disk)
    wait_drained(processes.env, port, timeout=120)  # retries back off up to 30 s apart
    assert readiness(port).status_code == 200
    processes.stop_all()
    assert_stored_exactly_once(processes.env, senders.acknowledged)
    assert dead_letters(processes) == 0


def _sent_once_full(port: int, app: dict[str, str], disk: Path, senders: Senders) -> httpx.Response:
    """The answer to a request sent once the disk is full. The queue's consumer frees a few
    pages of the queue's file as it removes what the writer stored, so the disk is filled again
    until a request finds it full; one accepted meanwhile (the disk was not full) counts with
    the senders' acknowledged events, which must all be stored."""
    for _ in range(20):
        fill(disk)
        body = ai_calls(1)
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/ingest",
            content=body,
            headers={"x-app-uuid": app["app_uuid"], **sign_headers(app["api_secret"], body)},
        )
        if response.status_code != 202:
            return response
        senders.acknowledge(response.json()["event_ids"])
    return response


def test_while_the_queue_s_disk_is_full_ingest_answers_503_and_loses_nothing_acknowledged(
    tmp_path: Path, engine_disk: Path
) -> None:
    """The on-disk queue lives on the small disk (the engine and SQLite do not): a 202 is only
    given for events the queue committed."""
    env = {
        **os.environ,
        "SAAS_TRACKER_DATA_DIR": str(engine_disk / "data"),
        "SAAS_TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'relational.sqlite3'}",
        "SAAS_TRACKER_CLICKHOUSE_URL": f"chdb://{tmp_path / 'clickhouse'}?database=served",
        "SAAS_TRACKER_BATCH_MAX_WAIT_S": "0.1",
        "SAAS_TRACKER_DATA_MIN_FREE_MB": "1",
    }
    env.pop("SAAS_TRACKER_REDIS_URL", None)
    processes = Processes(env, tmp_path)
    try:
        port, app = start(processes)
        with Senders(port, app, threads=2, batch=20) as senders:
            senders.wait_for(200)
            refused = _sent_once_full(port, app, engine_disk, senders)
            assert (refused.status_code, refused.headers.get("retry-after")) == (503, "5")
            free(engine_disk)
            senders.wait_for(len(senders.acknowledged) + 200)
        wait_drained(env, port, timeout=120)
        processes.stop_all()
        assert_stored_exactly_once(env, senders.acknowledged)
    finally:
        processes.stop_all()


def test_a_disk_filling_while_batches_are_written_loses_and_doubles_nothing(
    processes: Processes, engine_disk: Path
) -> None:
    """The failure lands wherever the writer is: the `events` insert, a derivation, a view's
    part, a background merge. Twelve cycles of filling and freeing the disk under load."""
    port, app = start(processes)
    with Senders(port, app, threads=2, batch=20) as senders:
        for cycle in range(12):
            senders.wait_for(len(senders.acknowledged) + 60)
            fill(engine_disk)
            senders.wait_for(len(senders.acknowledged) + 20 + 10 * cycle)
            free(engine_disk)
    wait_drained(processes.env, port, timeout=180)
    assert readiness(port).status_code == 200
    # Started again, as an operator would once the disk is fixed: the engine then sets aside
    # any part it finds broken, which the writer reconciles before it is ready.
    processes.stop_all()
    processes.serve("--single-process", port=port)
    processes.stop_all()
    assert_stored_exactly_once(processes.env, senders.acknowledged)
    assert dead_letters(processes) == 0
