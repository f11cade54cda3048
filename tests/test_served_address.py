"""Snippets and the demo name the address `serve` really listens on, not a fixed port 8000."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.served import Processes


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAAS_TRACKER_")}
    env |= {
        "SAAS_TRACKER_DATA_DIR": str(tmp_path / "data"),
        "SAAS_TRACKER_CLICKHOUSE_URL": f"chdb://{tmp_path / 'clickhouse'}?database=served",
    }
    processes = Processes(env, tmp_path)
    yield processes
    processes.stop_all()


def snippet_curl(port: int, token: str) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": "{ trackingSnippet { curl } }"},
        headers={"authorization": f"Bearer {token}"},
    )
    curl: str = response.json()["data"]["trackingSnippet"]["curl"]
    return curl


def test_the_tracking_snippet_names_the_port_serve_listens_on(processes: Processes) -> None:
    workspace = processes.cli("admin", "create-workspace", "Acme", "--plan", "growth")
    port = processes.serve("--single-process")
    assert f"http://127.0.0.1:{port}/v1/ingest" in snippet_curl(port, workspace["token"])


def test_a_configured_public_url_wins_over_the_served_address(processes: Processes) -> None:
    processes.env["SAAS_TRACKER_PUBLIC_URL"] = "https://tracker.example.com"
    workspace = processes.cli("admin", "create-workspace", "Acme", "--plan", "growth")
    port = processes.serve("--single-process")
    assert "https://tracker.example.com/v1/ingest" in snippet_curl(port, workspace["token"])


def test_the_demo_finds_the_server_of_its_data_folder_on_any_port(processes: Processes) -> None:
    port = processes.serve("--single-process")
    demo = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo", "--events", "20", "--days", "1", "--no-progress"],
        env=processes.env,
        capture_output=True,
        text=True,
    )
    assert demo.returncode == 0, demo.stderr
    assert "Demo workspace ready: 20 events sent." in demo.stdout
    assert f"http://127.0.0.1:{port}/graphql" in demo.stdout
