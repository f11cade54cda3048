"""The deployment files: compose.yaml is a valid Compose file whose commands exist, and the
Docker build context leaves local data and environments out."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "saas-tracker:latest"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(ROOT / "compose.yaml")
    return loaded


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_compose_yaml_is_valid_against_the_compose_specification() -> None:
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(ROOT / "compose.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok -- validation done" in checked.stdout


def _our_commands() -> list[tuple[str, list[str]]]:
    """Each command compose runs with our image (its entrypoint is `saas-tracker`), and the one
    its header tells operators to run."""
    services = compose()["services"]
    commands = [
        (name, list(service["command"]))
        for name, service in services.items()
        if service.get("image") == IMAGE
    ]
    header = (ROOT / "compose.yaml").read_text().splitlines()
    for line in header:
        if "docker compose exec api saas-tracker" in line:
            commands.append(("header", shlex.split(line.split("saas-tracker", 1)[1])))
    return commands


@pytest.mark.parametrize(("where", "command"), _our_commands())
def test_every_command_compose_runs_exists_in_the_cli(where: str, command: list[str]) -> None:
    # --help after the arguments: click refuses an unknown command or option before helping.
    answered = cli(*command, "--help")
    assert answered.returncode == 0, (where, answered.stderr)


def test_the_image_s_default_command_exists_in_the_cli() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    [cmd] = [line for line in dockerfile.splitlines() if line.startswith("CMD ")]
    answered = cli(*YAML(typ="safe").load(cmd.removeprefix("CMD ")), "--help")
    assert answered.returncode == 0, answered.stderr


def test_the_build_context_leaves_local_data_environments_and_secrets_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "data", ".env"} <= ignored


def test_every_production_process_of_compose_is_given_the_secret_key() -> None:
    # Production refuses to start without it (app secrets are sealed with it).
    services = compose()["services"]
    ours = {name: s["environment"] for name, s in services.items() if s.get("image") == IMAGE}
    assert ours
    for name, environment in ours.items():
        assert environment["SAAS_TRACKER_ENV"] == "production", name
        assert environment["SAAS_TRACKER_SECRET_KEY"].startswith("${SAAS_TRACKER_SECRET_KEY:?"), (
            name
        )
