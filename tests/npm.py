"""Test-only npm packages (pinned by a package-lock.json beside the test): installed by .ci/run,
or on the first run of a test that needs them. Node and npm must be there: a missing tool fails,
it never skips."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def node_with(folder: Path, package: str) -> str:
    """The path of `node`, once `package` is installed in `folder`'s node_modules."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node is not None and npm is not None, "node is required (apt-get install nodejs npm)"
    if not (folder / "node_modules" / package).is_dir():
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert installed.returncode == 0, installed.stderr
    return node
