"""The operator CLI, run as a user runs it: a subprocess in a folder of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def admin(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAAS_TRACKER_")}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "admin", *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )


def test_an_admin_command_that_creates_the_default_database_says_where_and_why(
    tmp_path: Path,
) -> None:
    first = admin(tmp_path, "create-workspace", "Acme", "--plan", "growth")
    assert set(json.loads(first.stdout)) == {"workspace_id", "token"}
    database = tmp_path / "data" / "saas_tracker.sqlite3"
    assert first.stderr.startswith(f"note: created a new, empty database at {database}.")
    assert "If `saas-tracker serve` runs from another folder" in first.stderr
    second = admin(tmp_path, "create-workspace", "Globex", "--plan", "growth")
    assert second.stderr == ""
