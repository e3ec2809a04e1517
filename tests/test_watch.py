"""The watcher's server and loop, in-process with stand-in builds (fast).

The real watcher, with real builds, is tested in test_speed.py."""

from __future__ import annotations

import http.client
import json
import os
import threading
from pathlib import Path

import pytest

from pubbuild import watch
from pubbuild.commands import one_line
from pubbuild.diagnostics import BuildError

PAGE = "<!DOCTYPE html>\n<html><body>\n<h1>The Article</h1>\n</body></html>\n"


@pytest.fixture
def served(tmp_path):
    """An output folder as a build leaves it, with a submission package
    beside the outputs, served as `watch` serves it."""
    out = tmp_path / "dist"
    out.mkdir()
    (out / "paper.html").write_text(PAGE, encoding="utf-8")
    (out / "paper.pdf").write_bytes(b"%PDF-1.7 the PDF")
    (out / "MANIFEST.json").write_text("{}")
    (out / "submission.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    (tmp_path / "secret.txt").write_text("not for the browser")
    state = watch.State()
    server = watch.serve(out / "paper.html", [out / "paper.pdf", out / "paper.epub"],
                         0, state)
    try:
        yield out, state, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def get(port: int, path: str, method: str = "GET") -> tuple[int, str, bytes]:
    """Status, type and body; `path` is sent as it is (`..` not resolved)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def test_the_article_is_at_the_root_with_live_reload(served):
    out, _, port = served
    status, kind, body = get(port, "/")
    assert (status, kind) == (200, "text/html; charset=utf-8")
    page = body.decode("utf-8")
    assert "<h1>The Article</h1>" in page
    assert "/__pubbuild/state" in page  # the page reloads itself on a rebuild
    assert (out / "paper.html").read_text() == PAGE  # the file stays the build's
    assert get(port, "/paper.html")[2] == body  # and under its own name
    assert get(port, "/?from=bookmark")[2] == body
    status, kind, body = get(port, "/paper.pdf")
    assert (status, kind, body) == (200, "application/pdf", b"%PDF-1.7 the PDF")


@pytest.mark.parametrize("path", [
    "/submission.zip", "/MANIFEST.json", "/paper.epub",  # not there, or not ours
    "/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "//secret.txt",
    "/dist/", "/dist/submission.zip", "/./paper.pdf/", "/index.html",
])
def test_nothing_else_is_served_nor_listed(served, path):
    status, kind, body = get(served[2], path)
    assert status == 404, f"{path} was served: {body[:60]!r}"
    assert kind == "text/plain; charset=utf-8"
    # No listing, no file's bytes: only what is served here.
    assert body == b"Not found. Served here: /, /paper.epub, /paper.html, /paper.pdf\n"


def test_a_head_request_has_no_body(served):
    status, _, body = get(served[2], "/", method="HEAD")
    assert (status, body) == (200, b"")


def test_a_failed_build_shows_its_line_once_above_the_article(served):
    _, state, port = served
    line = "manuscript/paper.md:9: error: citation 'Nobody, 1999': no entry"
    state.done(state.started(), line)
    page = get(port, "/")[2].decode("utf-8")
    assert page.count("Build failed:") == 1 and page.count("error:") == 1
    assert ("Build failed:\nmanuscript/paper.md:9: error: citation &#x27;Nobody, "
            "1999&#x27;: no entry</pre>") in page
    assert page.index('role="alert"') < page.index("<h1>The Article</h1>")
    state.done(state.started())
    assert 'role="alert"' not in get(port, "/")[2].decode("utf-8")


def test_before_the_first_page_the_error_shows_and_the_page_waits(served):
    out, state, port = served
    (out / "paper.html").unlink()
    state.done(state.started(), "manuscript/paper.md:2: YAML front matter: bad")
    status, _, body = get(port, "/")
    page = body.decode("utf-8")
    assert status == 503
    assert "No article yet" in page and "YAML front matter: bad" in page
    assert "/__pubbuild/state" in page  # it reloads once there is a page


def test_the_state_is_json_for_the_reload_script(served):
    _, state, port = served
    state.done(state.started())
    status, kind, body = get(port, "/__pubbuild/state")
    assert (status, kind) == (200, "application/json")
    assert json.loads(body) == {"build": 1, "version": 1, "error": "",
                                "following": 0}


# -- the loop ---------------------------------------------------------------

def watching(files, build_html, build_rest=lambda: None, *, until) -> list[str]:
    """Run the loop until `until()` is true; what it said."""
    said: list[str] = []
    looks = []

    def watched():
        looks.append(1)
        if until() or len(looks) > 3000:  # about 30 s at POLL = 0.01
            raise KeyboardInterrupt
        return files()

    with pytest.raises(SystemExit) as ended:
        watch.run(watched, build_html, build_rest, watch.State(), say=said.append)
    assert ended.value.code == 0 and said[-1] == "stopped"
    assert len(looks) <= 3000, f"the loop never got there: {said}"
    return said


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(watch, "POLL", 0.01)


def test_a_save_during_a_build_is_built_too(tmp_path):
    manuscript = tmp_path / "paper.md"
    manuscript.write_text("first")
    built = []

    def build_html():
        built.append(manuscript.read_text())
        if len(built) == 1:  # the author saves while the first build runs
            manuscript.write_text("second")

    said = watching(lambda: [manuscript], build_html, until=lambda: len(built) == 2)
    assert built == ["first", "second"], said


def test_a_save_within_the_clock_tick_is_seen(tmp_path):
    """A file written again within the file system's timestamp tick keeps
    its time; its size tells."""
    manuscript = tmp_path / "paper.md"
    manuscript.write_text("draft")
    built = []

    def build_html():
        built.append(manuscript.read_text())
        if len(built) == 1:
            before = manuscript.stat()
            manuscript.write_text("the draft, longer")
            os.utime(manuscript, ns=(before.st_atime_ns, before.st_mtime_ns))

    watching(lambda: [manuscript], build_html, until=lambda: len(built) == 2)
    assert built == ["draft", "the draft, longer"]


def test_an_error_line_is_said_once_as_described(tmp_path):
    manuscript = tmp_path / "paper.md"
    manuscript.write_text("x")

    def build_html():
        raise BuildError("error: citation 'Nobody, 1999': no entry", manuscript, 9)

    said = []
    looks = []

    def files():  # before and after the first build; then Ctrl-C
        looks.append(1)
        if len(looks) > 2:
            raise KeyboardInterrupt
        return [manuscript]

    with pytest.raises(SystemExit):
        watch.run(files, build_html, None, watch.State(), say=said.append,
                  describe=lambda exc: one_line(exc, manuscript))
    assert said[1:] == ["stopped"]
    assert said[0].endswith("paper.md:9: error: citation 'Nobody, 1999': no entry")
    assert said[0].count("error:") == 1


def test_an_error_without_a_file_gets_one_error_prefix():
    assert one_line(BuildError("error: boom"), Path("m.md")) == "error: boom"
    assert one_line(BuildError("boom"), Path("m.md")) == "error: boom"


def test_an_older_pdf_does_not_hide_a_newer_error(tmp_path):
    """The PDF of one edit may finish after the next edit's HTML failed:
    the page goes on showing that failure."""
    manuscript = tmp_path / "paper.md"
    manuscript.write_text("good")
    state = watch.State()
    release, finished = threading.Event(), threading.Event()
    said: list[str] = []
    builds = []

    def build_html():
        builds.append(manuscript.read_text())
        if len(builds) == 1:
            manuscript.write_text("broken!")  # saved while the PDF is made
            return
        raise BuildError("error: broken", manuscript, 1)

    def build_rest():
        assert release.wait(30), "the second build never reported"

    def say(line: str) -> None:
        said.append(line)
        if line.endswith("error: broken"):
            release.set()  # now the first edit's PDF finishes
        if line.startswith("PDF and EPUB"):
            finished.set()

    def files():
        if finished.is_set():
            raise KeyboardInterrupt
        return [manuscript]

    with pytest.raises(SystemExit):
        watch.run(files, build_html, build_rest, state, say=say)
    assert said[0].startswith("HTML updated") and said[1] == "changed: paper.md"
    assert said[2].endswith("paper.md:1: error: broken")
    assert said[3].startswith("PDF and EPUB updated"), said
    assert state.snapshot()["error"] == said[2]  # still shown in the page
    assert state.snapshot()["following"] == 0
