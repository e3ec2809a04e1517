"""The cache and the watcher (speed itself: `python -m bench.bench`)."""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import ROOT, child_env, run_build
from pubbuild import reproduce


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
    # The print layout gives the EPUB its page list (pubbuild/pagelist.py).
    ("styles/print.css", "\n/* a comment */\n", {"pdf", "epub"}),
    ("styles/screen.css", "\n/* a comment */\n", {"html"}),
    ("styles/epub.css", "\n/* a comment */\n", {"epub"}),
    ("styles/base.css", "\n/* a comment */\n", {"html", "epub"}),
    ("templates/print.html", "\n", {"pdf", "epub"}),
    ("templates/article.html", "\n", {"html"}),
    ("templates/titleblock.html", "\n", {"pdf", "html", "epub"}),
    ("filters/quotes.py", "\n# a comment\n", {"pdf", "html", "epub"}),
    ("fonts/OFL-CharisSIL.txt", "\n", {"pdf", "epub"}),
]


@pytest.mark.slow
def test_an_unchanged_rebuild_writes_nothing(project, tmp_path):
    out = tmp_path / "out"
    build(project, out)
    before = stamps(out)
    again = build(project, out)
    assert "Nothing to do: pdf, html, epub of" in again.stderr
    assert stamps(out) == before


@pytest.mark.slow
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


class Watcher:
    """`build.py watch` in a child process; its terminal, line by line.

    The test waits on what the watcher says it has done ("HTML updated",
    an error line), never on how long that should take: the watcher
    updates what it serves before it says so (pubbuild/watch.py)."""

    WAIT = 120  # seconds: generous, for a machine under load

    def __init__(self, project: Path, manuscript: Path, out: Path):
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "build.py"), "watch", "--port", "0",
             "--manuscript", str(manuscript), "--out", str(out)],
            stderr=subprocess.PIPE, text=True, cwd=project,
            env=child_env(SOURCE_DATE_EPOCH="1700000000"))
        self.lines: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stderr:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append("<the watcher ended>")
            self.changed.notify_all()

    def until(self, condition):
        """Wait until `condition(lines)` is true (not None); return it."""
        deadline = time.monotonic() + self.WAIT
        with self.changed:
            while (found := condition(self.lines)) is None or found is False:
                if self.lines[-1:] == ["<the watcher ended>"] or not self.changed.wait(
                        deadline - time.monotonic()):
                    raise AssertionError("the watcher never said what the test "
                                         "waited for; it said:\n" + self.log())
            return found

    def wait(self, test, after: int = 0) -> int:
        """The index of the first line from `after` on that passes `test`."""
        return self.until(lambda lines: next(
            (i for i in range(after, len(lines)) if test(lines[i])), None))

    def rebuilt(self, after: int) -> tuple[int, str]:
        """After a change from line `after` on: the index and the line that
        says how the HTML's rebuild went ("HTML updated" or its error)."""
        # Only a change that names the manuscript: a stylesheet or template
        # saved meanwhile in this checkout is a rebuild of its own.
        changed = self.wait(lambda line: line.startswith("changed: ") and
                            "article.md" in line[9:].split(", "), after)
        # The PDF and EPUB of an earlier edit may report meanwhile.
        index = self.wait(lambda line: not line.startswith(
            ("changed: ", "PDF and EPUB ")), changed + 1)
        return index, self.lines[index]

    def log(self) -> str:
        with self.changed:
            return "\n".join(self.lines)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def save(path: Path, text: str) -> None:
    """Save as an editor does, in one step (the watcher may look at any
    moment, and a file half written is another manuscript)."""
    new = path.parent.parent / f"{path.name}.saving"  # outside the watched folder
    new.write_text(text, encoding="utf-8")
    os.replace(new, path)


def get(url: str, path: str) -> tuple[int, str, bytes]:
    """Status, type and body of `path` sent as it is (`..` not resolved)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def settled(url: str, seconds: float = Watcher.WAIT) -> None:
    """Wait until the PDF and EPUB jobs the watcher has queued are done."""
    deadline = time.monotonic() + seconds
    while json.loads(get(url, "/__pubbuild/state")[2])["following"]:
        assert time.monotonic() < deadline, "the PDF and EPUB never followed"
        time.sleep(0.1)


def banner(page: str) -> str:
    match = re.search(r'<pre role="alert"[^>]*>(.*?)</pre>', page, re.S)
    return html.unescape(match.group(1)) if match else ""


@pytest.mark.slow
def test_the_watcher_rebuilds_and_serves(tmp_path):
    project = tmp_path / "paper"
    for name in ("manuscript/article.md", "bib/references.bib", "bib/apa.csl"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, project / name)
    manuscript = project / "manuscript" / "article.md"
    out = tmp_path / "out"
    watcher = Watcher(project, manuscript, out)
    try:
        serving = watcher.lines[watcher.wait(lambda line: "Serving" in line)]
        url = re.search(r"Serving (http://127\.0\.0\.1:\d+)/ ", serving)
        assert url, serving
        url = url.group(1)
        mark = watcher.wait(lambda line: not line.startswith("Serving"))
        assert watcher.lines[mark].startswith("HTML updated"), watcher.log()

        # The article is at /, with the live-reload script added as served.
        status, kind, body = get(url, "/")
        page = body.decode("utf-8")
        assert (status, kind) == (200, "text/html; charset=utf-8")
        assert "ABSTRACT" in page.upper() and "Theoretical Construct" in page
        assert "__pubbuild/state" in page  # the page reloads itself
        assert "__pubbuild" not in (out / "article.html").read_text()  # not on disk
        assert get(url, "/article.html")[2] == body  # the old address still works

        # Nothing else in the output folder is served, nor anything beside it.
        (out / "submission.zip").write_bytes(b"PK\x05\x06" + bytes(18))
        assert (out / "MANIFEST.json").is_file()
        for path in ("/submission.zip", "/MANIFEST.json", "/SHA256SUMS",
                     "/../paper/manuscript/article.md", "/%2e%2e/paper/bib/apa.csl",
                     "/out/", "/out/submission.zip", "//etc/passwd"):
            status, _, body = get(url, path)
            assert status == 404, f"{path} was served: {body[:80]!r}"
            assert b"PK" not in body and b"<a href" not in body  # nor listed

        text = manuscript.read_text(encoding="utf-8")
        save(manuscript, text.replace("Theoretical Construct", "A Watched Heading", 1))
        mark, said = watcher.rebuilt(mark)
        assert said.startswith("HTML updated"), watcher.log()
        page = get(url, "/")[2].decode("utf-8")
        assert "A Watched Heading" in page and not banner(page)
        assert "A Watched Heading" in (out / "article.html").read_text()
        # What follows breaks builds: only once the PDF and EPUB are made,
        # since a build that fails now also stops their pandoc runs (every
        # thread's: pandoc.pool), and the terminal would say so.
        settled(url)
        # The watcher answered that edit from its last citeproc run
        # (pubbuild.citecache) and its warm caches: what it wrote is byte
        # for byte what a cold build of the edited sources writes.
        cold = tmp_path / "cold"
        made = run_build("--manuscript", str(manuscript), "--out", str(cold),
                         cwd=project, env={"SOURCE_DATE_EPOCH": "1700000000"})
        assert made.returncode == 0, made.stderr
        made = {p.name: p.read_bytes() for p in cold.iterdir()}
        assert sorted(made) == ["MANIFEST.json", "SHA256SUMS", "article.epub",
                                "article.html", "article.pdf"]
        assert {name: (out / name).read_bytes() for name in made} == made

        # A broken manuscript shows in the page and the terminal, once each,
        # with one "error:" at most; the watcher goes on.
        broken = {"YAML front matter": text.replace('title: "', 'title: ["', 1),
                  "error: citation 'Nobody, 1999'":
                      text + "\nMore ([Nobody, 1999](#)).\n"}
        for expected, wrong in broken.items():
            save(manuscript, wrong)
            mark, said = watcher.rebuilt(mark)
            # The terminal: the line `build` prints, with the file and line.
            assert said.startswith("manuscript/article.md:"), said
            assert said.count(expected) == 1 and said.count("error:") <= 1, said
            # The page: the same line, once, in the banner above the article.
            shown = banner(get(url, "/")[2].decode("utf-8"))
            assert shown == f"Build failed:\n{said}", shown

        save(manuscript, text)
        mark, said = watcher.rebuilt(mark)
        assert said.startswith("HTML updated"), watcher.log()
        page = get(url, "/")[2].decode("utf-8")
        assert "Theoretical Construct" in page and not banner(page)

        # The PDF and the EPUB follow the last HTML, and are served under
        # their names.
        settled(url)
        said = watcher.lines[watcher.wait(lambda line: line.startswith(
            "PDF and EPUB "), mark)]
        assert said.startswith("PDF and EPUB updated"), watcher.log()
        status, kind, body = get(url, "/article.pdf")
        assert (status, kind) == (200, "application/pdf") and body.startswith(b"%PDF")
        status, kind, body = get(url, "/article.epub")
        assert (status, kind) == (200, "application/epub+zip")
        assert body[30:38] == b"mimetype"
        assert watcher.process.poll() is None
    finally:
        watcher.stop()
    log = watcher.log()
    assert "Traceback" not in log, log
    assert [line for line in watcher.lines if line.count("error:") > 1] == [], log


@pytest.mark.slow
def test_the_fast_path_gives_the_bytes_of_a_cold_build(project):
    """A rebuild that remakes only the PDF (and the EPUB, whose page list
    is the PDF's) leaves the folder exactly as a cold build of the same
    sources would: outputs, MANIFEST.json and SHA256SUMS alike."""
    warm, cold = project / "dist-warm", project / "dist-cold"
    build(project, warm)
    css = project / "styles" / "print.css"
    original = css.read_bytes()
    try:
        css.write_bytes(original + b"\n/* changed */\n")
        partial = build(project, warm)
        written = [line.split()[1].rsplit(".", 1)[1]
                   for line in partial.stderr.splitlines() if line.startswith("wrote ")]
        assert written == ["pdf", "epub"]
        build(project, cold)
        warm_files = {p.name: p.read_bytes() for p in warm.iterdir()}
        cold_files = {p.name: p.read_bytes() for p in cold.iterdir()}
        assert warm_files == cold_files
    finally:
        css.write_bytes(original)
        shutil.rmtree(warm, ignore_errors=True)
        shutil.rmtree(cold, ignore_errors=True)
