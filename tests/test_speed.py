"""The cache and the watcher (speed itself is measured by bench/bench.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, child_env, run_build
from pubbuild import reproduce

pytestmark = pytest.mark.build


def build(project: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    result = run_build(*args, "--out", str(out), cwd=project,
                       env={"SOURCE_DATE_EPOCH": "1700000000"},
                       script=project / "build.py")
    assert result.returncode == 0, result.stderr
    return result


def stamps(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in out.iterdir()}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("cache") / "project"
    reproduce.copy_project(project)
    return project


# Each kind of input, a harmless change to it, and the outputs that depend
# on it: exactly those are rebuilt.
CHANGES = [
    ("bib/references.bib", "\n% a comment\n", {"pdf", "html", "epub"}),
    ("bib/apa.csl", "\n<!-- a comment -->\n", {"pdf", "html", "epub"}),
    ("manuscript/article.md", "\nOne more sentence.\n", {"pdf", "html", "epub"}),
    ("styles/print.css", "\n/* a comment */\n", {"pdf"}),
    ("styles/screen.css", "\n/* a comment */\n", {"html"}),
    ("styles/epub.css", "\n/* a comment */\n", {"epub"}),
    ("styles/base.css", "\n/* a comment */\n", {"html", "epub"}),
    ("templates/print.html", "\n", {"pdf"}),
    ("templates/article.html", "\n", {"html"}),
    ("templates/titleblock.html", "\n", {"pdf", "html", "epub"}),
    ("filters/quotes.py", "\n# a comment\n", {"pdf", "html", "epub"}),
    ("fonts/OFL-CharisSIL.txt", "\n", {"pdf"}),
]


def test_an_unchanged_rebuild_writes_nothing(project, tmp_path):
    out = tmp_path / "out"
    build(project, out)
    before = stamps(out)
    again = build(project, out)
    assert "Nothing to do: pdf, html, epub of" in again.stderr
    assert stamps(out) == before


@pytest.mark.parametrize(("name", "addition", "expected"), CHANGES,
                         ids=[change[0] for change in CHANGES])
def test_a_change_rebuilds_exactly_what_depends_on_it(project, tmp_path, name,
                                                      addition, expected):
    out = tmp_path / "out"
    build(project, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    times = stamps(out)
    path = project / name
    original = path.read_bytes()
    try:
        path.write_bytes(original + addition.encode())
        result = build(project, out)
    finally:
        path.write_bytes(original)
    written = {Path(line.split()[1]).suffix.lstrip(".")
               for line in result.stderr.splitlines() if line.startswith("wrote ")}
    assert written == expected
    rewritten = {name.rsplit(".", 1)[-1] for name, stamp in stamps(out).items()
                 if stamp != times[name] and name.startswith("article.")}
    assert rewritten == expected
    # What was not rebuilt is byte for byte what it was.
    for fmt in {"pdf", "html", "epub"} - expected:
        assert (out / f"article.{fmt}").read_bytes() == before[f"article.{fmt}"]


def test_the_watcher_rebuilds_and_serves(tmp_path):
    project = tmp_path / "paper"
    for name in ("manuscript/article.md", "bib/references.bib", "bib/apa.csl"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, project / name)
    manuscript = project / "manuscript" / "article.md"
    env = child_env(SOURCE_DATE_EPOCH="1700000000")
    watcher = subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), "watch", "--port", "0",
         "--manuscript", str(manuscript), "--out", str(tmp_path / "out")],
        stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = None
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline and url is None:
            line = watcher.stderr.readline()
            lines.append(line)
            match = re.search(r"Serving (http://127\.0\.0\.1:\d+/article\.html)", line)
            url = match.group(1) if match else None
        assert url, "".join(lines)
        page = wait_for(url, lambda text: "ABSTRACT" in text.upper())
        assert "__pubbuild/state" in page  # the live-reload script, as served
        assert "__pubbuild" not in (tmp_path / "out" / "article.html").read_text()
        text = manuscript.read_text(encoding="utf-8")
        manuscript.write_text(text.replace("Theoretical Construct",
                                           "A Watched Heading", 1), encoding="utf-8")
        page = wait_for(url, lambda text: "A Watched Heading" in text)
        assert "A Watched Heading" in (tmp_path / "out" / "article.html").read_text()
        # A broken manuscript shows in the page, and the watcher goes on.
        manuscript.write_text(text.replace('title: "', 'title: ["', 1),
                              encoding="utf-8")
        page = wait_for(url, lambda text: "Build failed:" in text)
        assert "YAML front matter" in page
        manuscript.write_text(text, encoding="utf-8")
        wait_for(url, lambda text: "Build failed:" not in text
                 and "Theoretical Construct" in text)
        assert watcher.poll() is None
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)


def wait_for(url: str, condition, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                text = response.read().decode("utf-8")
            if condition(text):
                return text
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting on {url}; last page: {text[:300]}")


def test_the_fast_path_gives_the_bytes_of_a_cold_build(project):
    """A rebuild that remakes only the PDF leaves the folder exactly as a
    cold build of the same sources would: outputs, MANIFEST.json and
    SHA256SUMS alike."""
    warm, cold = project / "dist-warm", project / "dist-cold"
    build(project, warm)
    css = project / "styles" / "print.css"
    original = css.read_bytes()
    try:
        css.write_bytes(original + b"\n/* changed */\n")
        partial = build(project, warm)
        written = [line.split()[1].rsplit(".", 1)[1]
                   for line in partial.stderr.splitlines() if line.startswith("wrote ")]
        assert written == ["pdf"]
        build(project, cold)
        warm_files = {p.name: p.read_bytes() for p in warm.iterdir()}
        cold_files = {p.name: p.read_bytes() for p in cold.iterdir()}
        assert warm_files == cold_files
    finally:
        css.write_bytes(original)
        shutil.rmtree(warm, ignore_errors=True)
        shutil.rmtree(cold, ignore_errors=True)
