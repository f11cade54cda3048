"""Real `saas-tracker` processes for end-to-end tests: `serve` started as a subprocess on a
free port, the CLI run against the same environment, and what they stored read back."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import orjson
import pytest

from app.ingest.signature import sign_headers
from tests.harness import wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Migrated data folders, one per ClickHouse database name, made once per test run and shared by
# its processes (a file lock each): a served test starts from a copy instead of migrating a new
# engine folder (seconds per `serve`). tests/conftest.py removes them when the run ends.
# Keyed by the pytest process that runs the session (an xdist worker's parent).
_SESSION_PID = os.getppid() if "PYTEST_XDIST_WORKER" in os.environ else os.getpid()
TEMPLATES_ROOT = Path(tempfile.gettempdir()) / f"saas-tracker-served-templates-{_SESSION_PID}"
_TEMPLATES_LOCK = threading.Lock()
# The database `serve` uses when its settings name none.
DEFAULT_DATABASE = "saas_tracker"


def _engine_folder(env: dict[str, str]) -> tuple[Path, str]:
    """The embedded engine's folder and database of `env` (as Settings reads them)."""
    url = env.get("SAAS_TRACKER_CLICKHOUSE_URL") or ""
    data_dir = Path(env.get("SAAS_TRACKER_DATA_DIR", "data"))
    if not url:
        return data_dir / "clickhouse", DEFAULT_DATABASE
    parsed = urlparse(url)
    database = parse_qs(parsed.query).get("database", [DEFAULT_DATABASE])[0]
    return Path(parsed.path), database


def _template(database: str) -> Path:
    folder = TEMPLATES_ROOT / database
    TEMPLATES_ROOT.mkdir(exist_ok=True)
    with _TEMPLATES_LOCK, open(TEMPLATES_ROOT / f"{database}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "migrated").exists():
            shutil.rmtree(folder, ignore_errors=True)  # a run that died half-way
            env = {k: v for k, v in os.environ.items() if not k.startswith("SAAS_TRACKER_")}
            engine = f"chdb://{folder / 'clickhouse'}?database={database}"
            env |= {"SAAS_TRACKER_DATA_DIR": str(folder / "data")}
            env |= {"SAAS_TRACKER_CLICKHOUSE_URL": engine}
            migrate = [sys.executable, "-m", "app.cli", "migrate"]
            subprocess.run(migrate, env=env, check=True, capture_output=True)
            (folder / "migrated").touch()
    return folder


def migrated_engine_folder(database: str = DEFAULT_DATABASE) -> Path:
    """The embedded engine's folder of a migrated installation (one per run and database):
    copy it with `shutil.copytree(..., symlinks=True)`, never open it."""
    return _template(database) / "clickhouse"


def start_migrated(env: dict[str, str]) -> None:
    """Give the data folders of `env` a copy of a migrated installation, unless they exist: the
    embedded engine's folder, and the SQLite database (with its secret key) when `env` names no
    other database."""
    engine_folder, database = _engine_folder(env)
    if not env.get("SAAS_TRACKER_CLICKHOUSE_URL", "chdb://").startswith("chdb://"):
        return
    if engine_folder.exists():
        return
    template = _template(database)
    # ClickHouse links its databases and tables into the store with relative symlinks.
    shutil.copytree(template / "clickhouse", engine_folder, symlinks=True)
    if not env.get("SAAS_TRACKER_DATABASE_URL"):
        data_dir = Path(env.get("SAAS_TRACKER_DATA_DIR", "data"))
        data_dir.mkdir(parents=True, exist_ok=True)
        for path in (template / "data").iterdir():
            if path.is_file() and not (data_dir / path.name).exists():
                shutil.copy2(path, data_dir / path.name)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, waiting for its parent to read its status, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class Processes:
    """The `serve` processes of a test, stopped (SIGTERM, then SIGKILL) at its end. Their data
    folders start as a copy of a migrated installation (`start_migrated`)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []
        self._prepared = False

    def _prepare(self) -> None:
        if not self._prepared:
            start_migrated(self.env)
            self._prepared = True

    def cli(self, *args: str) -> dict[str, str]:
        self._prepare()
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
        self._prepare()
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
        # A split serve's engine process: gone only after its front (which stops it), or
        # killed with it. Nobody may open the engine's folder before it is gone.
        engines = [child for proc in self.started for child in _children(proc.pid)]
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.started:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        wait_until(lambda: not any(_alive(pid) for pid in engines), timeout=60)


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
                    self.acknowledge(response.json()["event_ids"])

    def acknowledge(self, event_ids: list[str]) -> None:
        """Count events answered 202 to a request of the test's own."""
        with self._lock:
            self.acknowledged.extend(event_ids)

    def wait_for(self, count: int, timeout: float = 60.0) -> None:
        """Wait until at least `count` events were acknowledged."""
        wait_until(lambda: len(self.acknowledged) >= count, timeout)


def stored_state(env: dict[str, str]) -> tuple[list[str], list[str], dict[str, list[Any]]]:
    """What the engine of `env` holds, read by a process of its own (the embedded engine's
    folder belongs to one process at a time: stop `serve` first): the event ids in `events`
    and in `ai_usage_events`, and for each rollup its source table and how many source rows
    it sums."""
    query = (
        "import json; from app.store.interface import open_store; "
        f"s = open_store({env['SAAS_TRACKER_CLICKHOUSE_URL']!r}); "
        "from app.workers.rollups import ROLLUPS; "
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
    wrong = {
        name: f"sums {summed} of the {rows[source]} rows of {source}"
        for name, (source, summed) in rolled_up.items()
        if summed != rows[source]
    }
    assert wrong == {}, f"a rollup disagrees with its source: {wrong}"
    return stored
