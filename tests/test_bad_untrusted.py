"""Untrusted manuscripts: nothing outside is read, nothing runs.

Raw HTML, images and SVGs that point outside the manuscript's folder, a
server a manuscript names, a repository's git configuration, a pandoc on
PATH; every build traced with strace (badinput.traced)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from badinput import build, check, one_error_line, project, traced
from conftest import ROOT, child_env
from pubbuild import submission

# -- untrusted manuscripts: nothing outside is read, nothing runs -----------

def found(files: list[Path], needles: list[str]) -> list[str]:
    """Where the needles occur in the files: raw bytes, zip members, PDF
    text and every PDF stream decompressed (the submission's own scan)."""
    return submission.scan({str(p): p.read_bytes() for p in files}, needles)


@pytest.mark.slow
def test_raw_html_cannot_reach_outside_or_run(tmp_path):
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("SECRET-7f3c2a91")
    folder = tmp_path / "paper"
    folder.mkdir()
    body = (f'Text ([Vu, 2021](#)).\n\n<img src="file://{secret}">\n\n'
            f'<link rel="attachment" href="{secret}">\n\n'
            f'<style>@import url(file://{secret});</style>\n\n'
            '<script>alert("boo")</script>\n\n'
            '<p onclick="steal()">Click <a href="javascript:steal()">here</a>.</p>\n\n'
            # pandoc's own elements: a Div, a Span, a Markdown link
            f'<div style="background: url(file://{secret})">Styled.</div>\n\n'
            '[Spanned]{onmouseover="steal()"} and [linked](javascript:steal()).\n')
    manuscript = project(folder, body=body)
    out = folder / "dist"
    result = build(manuscript, out)
    assert result.returncode == 0, result.stderr
    # Each removal is a warning naming the manuscript.
    report = check(manuscript).stdout
    assert re.search(r"paper\.md:\d+: warning: raw HTML: <img> loading '", report)
    assert "raw HTML: <script> and its content removed" in report
    assert "raw HTML: the onclick handler of <p> removed" in report
    assert "attribute: the style of <div> (it loads a URL) removed" in report
    assert "attribute: the onmouseover handler of <span> removed" in report
    assert "link to 'javascript:steal()' removed (its text kept)" in report
    assert found(list(out.iterdir()), ["SECRET-7f3c2a91"]) == []
    # What a browser or an e-reader would run. (The PDF carries the
    # manuscript's source as an attachment, text that nothing runs.)
    assert found([out / "paper.html", out / "paper.epub"],
                 ["<script>alert", "onclick", "onmouseover", "javascript:"]) == []
    page = (out / "paper.html").read_text()
    for text in ("Click", "Styled.", "Spanned", "linked"):  # the text stays
        assert text in page


@pytest.mark.slow
def test_no_request_reaches_a_server(tmp_path):
    import http.server
    import threading

    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        folder = tmp_path / "paper"
        folder.mkdir()
        raw = project(folder, body=f'Text ([Vu, 2021](#)).\n\n'
                                   f'<img src="http://127.0.0.1:{port}/raw.png">\n')
        assert build(raw, folder / "dist").returncode == 0
        linked = project(folder, body=f"Text ([Vu, 2021](#)).\n\n"
                                      f"![A figure.](http://127.0.0.1:{port}/x.png)\n")
        line = one_error_line(build(linked, folder / "dist2"))
        assert line.endswith("only local files can be used (the build never "
                             "fetches from the network)")
    finally:
        server.shutdown()
    assert requests == []


@pytest.mark.slow
def test_an_svg_that_points_outside(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-5b1e")
    folder = tmp_path / "paper"
    folder.mkdir()
    (folder / "dot.png").write_bytes(
        (ROOT / "tests" / "manuscripts" / "second" / "bars.png").read_bytes())
    manuscript = project(folder, body="Text ([Vu, 2021](#)).\n\n"
                                      "![A figure.](figure.svg)\n")
    out = folder / "dist"
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink='
           '"http://www.w3.org/1999/xlink" width="10" height="10">{}</svg>')
    for inner, reference in (
            (f'<image href="file://{secret}" width="10" height="10"/>',
             f"file://{secret}"),
            (f'<image xlink:href="{secret}" width="10" height="10"/>', str(secret)),
            ('<use href="../secret.txt#x"/>', "../secret.txt#x"),
            ('<rect style="fill: url(https://example.org/p.svg#g)" width="1" '
             'height="1"/>', "https://example.org/p.svg#g"),
            (f'<style>@import "{secret}";</style>', str(secret))):
        (folder / "figure.svg").write_text(svg.format(inner))
        # Stopped before anything renders, with the reference named: the
        # render's fetcher would refuse it and leave a hole in the figure.
        line = one_error_line(build(manuscript, out))
        assert line == (f"paper.md:9: image figure.svg: refers to {reference!r}, "
                        "outside the manuscript's folder")
        assert not out.exists()
    # Inside the folder, a reference within the file, a link: all fine.
    (folder / "figure.svg").write_text(svg.format(
        '<defs><rect id="r" width="1" height="1"/></defs><use href="#r"/>'
        '<image href="dot.png" width="5" height="5"/>'
        '<a href="https://example.org/"><text y="9">x</text></a>'))
    result = build(manuscript, out)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_no_process_reads_outside_the_project(tmp_path):
    """A manuscript that points at a secret outside its folder in every way
    raw HTML allows, traced (as every bad-input build is): the secret is
    never opened, nor the machine's fonts or their cache, a user's pandoc
    data or git config; the bundled pandoc runs; no network connection."""
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("SECRET-strace")
    folder = tmp_path / "paper"
    folder.mkdir()
    (folder / "figure.png").write_bytes(
        (ROOT / "tests" / "manuscripts" / "second" / "bars.png").read_bytes())
    (folder / "drawing.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        '<rect width="10" height="10"/></svg>')
    manuscript = project(folder, body=(
        'Text ([Vu, 2021](#)).\n\n![A figure.](figure.png)\n\n'
        '![A drawing.](drawing.svg)\n\n'
        f'<img src="file://{secret}">\n\n<link rel="attachment" href="{secret}">\n\n'
        f'<style>@import url({secret});</style>\n\n'
        f'<div style="background: url(file://{secret})">Styled.</div>\n'))
    out = folder / "dist"
    result, outside, trace = traced(
        ["-q", "--manuscript", str(manuscript), "--out", str(out)],
        folders=(folder, out), cwd=folder)
    assert result.returncode == 0, result.stderr
    assert outside == []
    assert sorted(p.name for p in out.iterdir()) == [
        "MANIFEST.json", "SHA256SUMS", "paper.epub", "paper.html", "paper.pdf"]
    assert f'"{manuscript}"' in trace and f'"{folder / "figure.png"}"' in trace
    assert str(secret) not in trace
    home = Path.home()
    for never in ("/etc/fonts", "/usr/share/fonts", "/var/cache/fontconfig",
                  home / ".local" / "share" / "pandoc", home / ".gitconfig",
                  home / ".fonts", home / ".cache" / "fontconfig"):
        assert f'"{never}' not in trace, never
    assert re.search(r'execve\("[^"]*/pypandoc/files/pandoc".* = 0', trace)
    assert not re.search(r"connect\(.*AF_INET", trace)


@pytest.mark.slow
def test_an_untrusted_git_repository_runs_nothing(tmp_path):
    """A manuscript's repository can name programs in its .git/config that
    git would run (core.fsmonitor on `git status`, gpg.program on `git log`
    with log.showSignature). The build asks git for the date and commit of
    the sources; neither program runs, and the date still comes from git."""
    import subprocess

    marker = tmp_path / "ran"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    folder = tmp_path / "paper"
    folder.mkdir()
    manuscript = project(folder)

    def git(*args):
        subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.org",
                        *args], cwd=folder, check=True, capture_output=True,
                       env=child_env(GIT_CONFIG_GLOBAL="/dev/null",
                                     GIT_COMMITTER_DATE="2024-05-06T07:08:09Z",
                                     GIT_AUTHOR_DATE="2024-05-06T07:08:09Z"))

    git("init", "-q")
    git("add", "paper.md", "refs.bib")
    git("commit", "-q", "-m", "paper")
    for key, value in (("core.fsmonitor", str(hook)), ("log.showSignature", "true"),
                       ("gpg.program", str(hook))):
        git("config", key, value)
    manuscript.write_text(manuscript.read_text() + "\nAn edit.\n")  # status runs
    out = folder / "dist"
    result = build(manuscript, out)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert "2024-05-06T07:08:09Z" in (out / "paper.html").read_text()
    # The same repository with git run plainly does run the hook: the case
    # is real, not a configuration git would ignore anyway.
    subprocess.run(["git", "status", "--porcelain"], cwd=folder, capture_output=True,
                   env=child_env(GIT_CONFIG_GLOBAL="/dev/null"))
    assert marker.exists()


@pytest.mark.slow
def test_only_the_bundled_pandoc_runs(tmp_path):
    """pypandoc would take PYPANDOC_PANDOC, or a newer pandoc on PATH: a
    machine's pandoc would make other bytes. The build runs its own."""
    import json

    marker = tmp_path / "ran"
    fake = tmp_path / "bin" / "pandoc"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\ntouch {marker}\necho "pandoc 99.0"\n')
    fake.chmod(0o755)
    manuscript = project(tmp_path)
    import os

    result = build(manuscript, tmp_path / "dist", "html", env={
        "PATH": f"{fake.parent}:{os.environ['PATH']}", "PYPANDOC_PANDOC": str(fake)})
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    tools = json.loads((tmp_path / "dist" / "MANIFEST.json").read_text())["tools"]
    assert tools["pandoc"] != "99.0"
