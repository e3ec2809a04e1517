"""Shared fixtures: the project root, pandoc, and the golden-file switch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pytest_addoption(parser):
    parser.addoption(
        "--update-goldens", action="store_true",
        help="rewrite the expected files of the golden cases from the current "
             "output (review the diff before committing)")


@pytest.fixture
def update_goldens(request) -> bool:
    return request.config.getoption("--update-goldens")


def run_build(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python build.py ARGS` as a user would, from another directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run(
        [sys.executable, str(ROOT / "build.py"), *args], capture_output=True,
        text=True, cwd=cwd or ROOT.parent, env=env, timeout=300)
