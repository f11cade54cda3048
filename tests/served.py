"""Real `saas-tracker` processes for end-to-end tests: `serve` started as a subprocess on a
free port, the CLI run against the same environment, and what they stored read back."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from app.ingest.signature import sign_headers
from tests.harness import wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """The `serve` processes of a test, stopped (SIGTERM, then SIGKILL) at its end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def cli(self, *args: str) -> dict[str, str]:
        out = subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout)

    def serve(self, *flags: str, port: int | None = None) -> int:
        """Start `serve` (on `port`, or a free one) and return its port once it is ready."""
        port = port or _free_port()
        number = len(self.started)
        path = self.logs / f"serve-{port}-{number}.log"
        log = open(path, "wb")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *flags],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.started.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    return port
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, path.read_text()
            time.sleep(0.2)
        pytest.fail(f"serve {flags} did not become ready")

    @property
    def last(self) -> subprocess.Popen[bytes]:
        """The process started last."""
        return self.started[-1]

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.started:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def ai_calls(count: int) -> bytes:
    """A signed-ready batch body of `count` completed AI calls with unique event ids."""
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
        for _ in range(count)
    ]
    return orjson.dumps({"batch": batch})


class Senders:
    """Threads posting signed batches of new AI calls to a served app until the block ends;
    `acknowledged` holds the ids of every event answered 202 (what must never be lost)."""

    def __init__(self, port: int, app: dict[str, str], *, threads: int = 4, batch: int = 50):
        self.base_url = f"http://127.0.0.1:{port}"
        self.app = app
        self.batch = batch
        self.acknowledged: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._send) for _ in range(threads)]

    def __enter__(self) -> Senders:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _send(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=5) as client:
            while not self._stop.is_set():
                body = ai_calls(self.batch)
                signed = sign_headers(self.app["api_secret"], body)
                headers = {"x-app-uuid": self.app["app_uuid"], **signed}
                try:
                    response = client.post("/v1/ingest", content=body, headers=headers)
                except httpx.HTTPError:
                    continue  # not acknowledged: the client would retry
                if response.status_code == 202:
                    with self._lock:
                        self.acknowledged.extend(response.json()["event_ids"])

    def wait_for(self, count: int, timeout: float = 60.0) -> None:
        """Wait until at least `count` events were acknowledged."""
        wait_until(lambda: len(self.acknowledged) >= count, timeout)


def stored_state(env: dict[str, str]) -> tuple[list[str], list[str], dict[str, list[Any]]]:
    """What the engine of `env` holds, read by a process of its own (the embedded engine's
    folder belongs to one process at a time: stop `serve` first): the event ids in `events`
    and in `ai_usage_events`, and for each rollup its source table and how many source rows
    it sums."""
    query = (
        "import json; from app.analytics.store import open_store; "
        f"s = open_store({env['SAAS_TRACKER_CLICKHOUSE_URL']!r}); "
        "from app.analytics.rollups import ROLLUPS; "
        "print(json.dumps([[r['event_id'] for r in s.query(f'SELECT event_id FROM {t}')]"
        " for t in ('events', 'ai_usage_events')]"
        " + [{r.name: [r.source,"
        " int(s.query(f'SELECT sum(source_rows) AS n FROM {r.name}')[0]['n'])] for r in ROLLUPS}]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", query], env=env, check=True, capture_output=True, text=True
    )
    stored, ai_usage, rolled_up = json.loads(out.stdout)
    return stored, ai_usage, rolled_up


def assert_stored_exactly_once(env: dict[str, str], acknowledged: list[str]) -> list[str]:
    """Every acknowledged event is stored once, in `events` and `ai_usage_events` alike, and
    every rollup sums each row of its source once; returns the stored event ids."""
    stored, ai_usage, rolled_up = stored_state(env)
    assert len(stored) == len(set(stored)), "an event was stored twice"
    assert sorted(ai_usage) == sorted(stored), "ai_usage_events disagrees with events"
    assert set(acknowledged) - set(stored) == set(), "an acknowledged event was lost"
    rows = {"events": len(stored), "ai_usage_events": len(ai_usage)}
    assert rolled_up == {name: [source, rows[source]] for name, (source, _) in rolled_up.items()}
    return stored
