"""The README's walkthrough, run as a newcomer would paste it: its shell blocks in bash, against
a real `serve`, from another directory than the repository, answering what the README shows."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import wait_until
from tests.served import Processes

README = Path(__file__).resolve().parent.parent / "README.md"


def section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Processes, int]]:
    """One `serve` for the module: each walkthrough makes its own workspace or operator."""
    folder = tmp_path_factory.mktemp("readme")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAAS_TRACKER_")}
    processes = Processes(env | {"SAAS_TRACKER_DATA_DIR": str(folder / "data")}, folder)
    port = processes.serve("--single-process")
    yield processes, port
    processes.stop_all()


def bash(script: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_walkthrough_sends_an_event_and_reads_its_cost_as_the_readme_shows(
    served: tuple[Processes, int], tmp_path: Path
) -> None:
    processes, port = served
    walkthrough = section("Send an event and read its cost")
    send, query = blocks(walkthrough, "sh")
    shown = json.loads(blocks(walkthrough, "json")[0])
    url = f"URL=http://127.0.0.1:{port}"
    send = send.replace("URL=http://127.0.0.1:8000", url)
    # What the reader keeps in their shell between the two blocks.
    keep = "\ndeclare -p URL TOKEN > session.sh\n"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sent = json.loads(bash(send + keep, processes.env, elsewhere))
    assert sent["accepted"] == 1
    token = (elsewhere / "session.sh").read_text().split("TOKEN=")[1].split()[0].strip("\"'")
    wait_until(lambda: calls_stored(port, token) == 1, timeout=20)
    answer = json.loads(bash("source session.sh\n" + query, processes.env, elsewhere))
    assert answer == shown


def calls_stored(port: int, token: str) -> int:
    response = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": "{ aiCost { calls } }"},
        headers={"authorization": f"Bearer {token}"},
    )
    calls: int = response.json()["data"]["aiCost"]["calls"]
    return calls


def test_an_operator_creates_a_model_alias_as_the_readme_shows(
    served: tuple[Processes, int], tmp_path: Path
) -> None:
    processes, port = served
    operator = section("For an operator of the installation")
    _, alias = blocks(operator, "sh")
    shown = json.loads(blocks(operator, "json")[0])
    script = f"URL=http://127.0.0.1:{port}\n" + alias
    assert json.loads(bash(script, processes.env, tmp_path)) == shown


def test_a_person_signs_in_with_a_cookie_and_signs_out_with_the_csrf_header_as_shown(
    served: tuple[Processes, int], tmp_path: Path
) -> None:
    processes, port = served
    signing_in = section("For a workspace admin").split("#### Signing in", 1)[1]
    script = blocks(signing_in, "sh")[0].replace(
        "URL=http://127.0.0.1:8000", f"URL=http://127.0.0.1:{port}"
    )
    printed = bash(script, processes.env, tmp_path).splitlines()
    shown = blocks(signing_in, "json")[0].splitlines()
    assert [json.loads(line) for line in printed[1:]] == [json.loads(line) for line in shown]
