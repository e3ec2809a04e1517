"""The response to reviewers (`build.py respond`): the letter for a
reviews.md over the diff fixture's two revisions, committed in a git
repository as v1 and v2, with some unchanged pages of text between them so
that the changes fall on different pages.

What the letter says of where a change is, is checked against the revised
manuscript's own files as the journal receives them (`submit`): its PDF's
page text, and its DOCX as LibreOffice lays it out and numbers its lines.
"""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import ROOT, run_build
from outputs import html_text, pdf_text
from pubbuild import locate, pandoc
from word_judge import libreoffice_pdf, numbered_lines

FIXTURE = ROOT / "tests" / "manuscripts" / "respond"
DIFF = ROOT / "tests" / "manuscripts" / "diff"
# The profile the pages and lines refer to: the journal's PDF and DOCX,
# not anonymised, no title page in front.
PROFILE = ("name: Test journal\nanonymise: false\ntitle-page: none\n"
           "line-numbers: true\n")
CHANGE_LINE = re.compile(
    r"Change (\d+) · ([a-z -]+?) · § (\w+) · PDF p\. (\d+) · DOCX p\. (\d+), l\. (\d+)")
# Each change's words in the revised text, where the letter says it is (a
# deletion: the words now in its place).
PLACED = {
    1: "finds it promising",
    3: "Talks resumed briefly in 2020",
    4: "Approach",
    5: "Approach",
    7: "Reciprocity is conditional on trust",
    9: "Peace needs patience",
    12: "Vu, K. (2021)",
}


def git(repo: Path, *args: str, date: str = "2026-02-01T09:00:00Z") -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ada Lovelace",
           "GIT_AUTHOR_EMAIL": "ada@example.org", "GIT_COMMITTER_NAME": "Ada Lovelace",
           "GIT_COMMITTER_EMAIL": "ada@example.org", "GIT_AUTHOR_DATE": date,
           "GIT_COMMITTER_DATE": date}
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


def make_repo(repo: Path, reviews: str | None = None) -> Path:
    """v1 and v2 of the diff fixture (with the same pages of text added to
    both), reviews.md beside v2; the repository's folder."""
    (repo / "text").mkdir(parents=True)
    filler = (FIXTURE / "filler.md").read_text(encoding="utf-8")

    def revision(name: str) -> str:
        text = (DIFF / name).read_text(encoding="utf-8")
        text = text.replace("csl: ../../../bib/apa.csl",
                            f"csl: {ROOT / 'bib' / 'apa.csl'}")
        return text.replace("# Conclusion", filler + "\n# Conclusion")

    git(repo, "init", "-q", "-b", "main")
    (repo / "text" / "refs.bib").write_bytes((DIFF / "refs.bib").read_bytes())
    (repo / "journal.yaml").write_text(PROFILE, encoding="utf-8")
    (repo / "text" / "paper.md").write_text(revision("old.md"), encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "As submitted")
    git(repo, "tag", "v1")
    (repo / "text" / "paper.md").write_text(revision("new.md"), encoding="utf-8")
    (repo / "text" / "reviews.md").write_text(
        reviews or (FIXTURE / "reviews.md").read_text(encoding="utf-8"),
        encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Revised", date="2026-03-05T16:30:00Z")
    git(repo, "tag", "v2")
    return repo


def respond(repo: Path, out: Path, *args: str):
    return run_build("respond", "--manuscript", "text/paper.md", "--profile",
                     "journal.yaml", "--out", str(out), "-q", *args, cwd=repo)


@pytest.fixture(scope="module")
def letter(tmp_path_factory) -> Path:
    repo = make_repo(tmp_path_factory.mktemp("respond") / "paper")
    result = respond(repo, repo / "out")
    assert result.returncode == 0, result.stderr
    return repo


@pytest.fixture(scope="module")
def submitted(letter) -> Path:
    """The revised manuscript as the journal gets it: its PDF and DOCX."""
    result = run_build("submit", "--manuscript", "text/paper.md", "--profile",
                       "journal.yaml", "--out", str(letter / "submitted"), "-q",
                       cwd=letter)
    assert result.returncode == 0, result.stderr
    return letter / "submitted" / "submission"


def placed(text: str) -> dict[int, tuple]:
    """What the letter says of each change: (kind, section, PDF page,
    DOCX page, DOCX line), by number."""
    return {int(m[1]): (m[2], m[3], int(m[4]), int(m[5]), int(m[6]))
            for m in CHANGE_LINE.finditer(text)}


# -- the letter --------------------------------------------------------------

@pytest.mark.slow
def test_every_comment_numbered_and_answered(letter):
    text = pdf_text(letter / "out" / "response" / "response.pdf")
    assert "Response to the reviewers" in text
    assert "Manuscript DIP-2026-0042: A Small Paper on Reciprocity" in text
    assert "Ada Lovelace" in text
    labels = re.findall(r"\b([RE]\d+(?:\.\d+)?)\b", text)
    for label in ("R1.1", "R1.2", "R1.3", "R2.1", "R2.2", "R2.3", "R2.4"):
        assert label in labels
    # The summary table: comments, replies, changes referenced, per reviewer.
    assert "Reviewer 1 3 3 4" in text
    assert "Reviewer 2 4 4 2" in text
    assert "All 7 7 6" in text
    # A reply's citation is resolved against the article's bibliography.
    assert "(Vu, 2021)" in text
    assert "Vu, K. (2021). With lukewarm diplomacy." in text


@pytest.mark.slow
def test_each_reply_shows_the_changes_it_points_at(letter):
    text = pdf_text(letter / "out" / "response" / "response.pdf")
    found = placed(text)
    # Every change of the diff is shown once at least: under a reply or
    # among the other changes.
    assert sorted(found) == list(range(1, 13))

    def after(label: str, until: str) -> list[int]:
        part = text[text.index(f"{label} "):text.index(f"{until} ")]
        return [int(n) for n in re.findall(r"Change (\d+) ·", part)]

    assert after("R1.1", "R1.2") == [3]          # a quoted passage
    assert after("R1.2", "R1.3") == [5]          # a change id
    assert after("R1.3", "R2.1") == [7, 8]       # one reply, two changes
    assert after("R2.1", "R2.2") == [1]          # a quotation in the abstract
    assert after("R2.2", "R2.3") == [9]
    assert after("R2.3", "R2.4") == []           # a reply with no change
    others = text[text.index("Appendix: other changes"):]
    assert [int(n) for n in re.findall(r"Change (\d+) ·", others)] == [
        2, 4, 6, 10, 11, 12]
    assert found[7][:2] == ("citation changed", "Approach")
    assert found[12][:2] == ("reference removed", "References")
    assert "Main text: 479 words before, 472 after" in text


@pytest.mark.slow
def test_the_pages_are_the_revised_pdfs(letter, submitted):
    said = placed(pdf_text(letter / "out" / "response" / "response.pdf"))
    pages = [locate.letters(page.extract_text())
             for page in PdfReader(submitted / "paper.pdf").pages]
    assert len(pages) >= 2
    for number, words in PLACED.items():
        key = locate.letters(words)
        on = [n for n, page in enumerate(pages, 1) if key in page]
        assert on, words
        assert said[number][2] == on[0], (number, words)
    assert {said[n][2] for n in said} == {1, 2}   # the fixture spans two pages


@pytest.mark.slow
def test_the_lines_are_the_revised_docxs_as_libreoffice_numbers_them(
        letter, submitted, tmp_path):
    said = placed(pdf_text(letter / "out" / "response" / "response.pdf"))
    judged = numbered_lines(libreoffice_pdf(
        (submitted / "paper.docx").read_bytes(), tmp_path))
    lines = [locate.Line(page, number, text) for page, number, text in judged]
    assert max(line.page for line in lines) >= 3
    for number, words in PLACED.items():
        finder = locate.Finder(lines)
        start = finder.find(words)
        assert start is not None, words
        line = finder.at(start)
        assert said[number][3:] == (line.page, line.number), (number, words)
    # The same for every change of the fixture: each one's line starts, or
    # holds, the words the letter shows for it.
    assert {said[n][3] for n in said} == {1, 2, 3}


@pytest.mark.slow
def test_the_excerpts_mark_insertions_and_deletions(letter):
    out = letter / "out" / "response"
    html = (out / "response.html").read_text(encoding="utf-8")
    assert '<span class="deleted"><del>slow</del></span>' in html
    assert '<span class="inserted"><u>sluggish</u></span>' in html
    # [change 5] links to its excerpt under the same comment.
    assert 'href="#R1.2-change-5">5</a>' in html and 'id="R1.2-change-5"' in html
    with zipfile.ZipFile(out / "response.docx") as docx:
        body = docx.read("word/document.xml").decode("utf-8")
    # Formatting in the letter, not tracked changes.
    assert "<w:strike" in body and '<w:u w:val="single"' in body
    assert "<w:ins " not in body and "<w:del " not in body
    plain, _ = pandoc.run([str(out / "response.docx"), "-t", "plain", "--wrap=none"])
    words = " ".join(plain.split())
    assert placed(words) == placed(pdf_text(out / "response.pdf"))
    assert "R2.4 Please say how the press statements were chosen." in words


@pytest.mark.slow
def test_the_html_letter_is_valid(letter, vnu):
    errors, _ = vnu(letter / "out" / "response" / "response.html")
    assert errors == []


@pytest.mark.slow
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", [390, 1280])
def test_the_html_letter_has_no_axe_violations(letter, axe, width, dark):
    page = letter / "out" / "response" / "response.html"
    results = axe([page], width, dark=dark)
    assert list(results) == [str(page)]
    assert results[str(page)] == []


@pytest.mark.slow
def test_the_pdf_letter_is_tagged_and_reads_in_order(letter):
    from pubbuild import pdfcheck

    assert [str(p) for p in pdfcheck.check(
        letter / "out" / "response" / "response.pdf")] == []


@pytest.mark.slow
def test_anonymous_letter_names_no_author(letter, tmp_path):
    result = respond(letter, tmp_path, "--anonymous")
    assert result.returncode == 0, result.stderr
    text = pdf_text(tmp_path / "response" / "response.pdf")
    assert "Lovelace" not in text and "Response to the reviewers" in text
    html = html_text((tmp_path / "response" / "response.html").read_text())
    assert "Lovelace" not in html


@pytest.mark.slow
def test_the_letter_is_reproducible(letter):
    result = run_build("verify", "respond", "--manuscript",
                       str(letter / "text" / "paper.md"), cwd=letter)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "response/response.pdf" in result.stdout


# -- checks and bad input --------------------------------------------------------

def variant(tmp_path: Path, old: str, new: str) -> Path:
    text = (FIXTURE / "reviews.md").read_text(encoding="utf-8")
    assert old in text
    return make_repo(tmp_path / "paper", text.replace(old, new))


def line_of(repo: Path, snippet: str) -> int:
    lines = (repo / "text" / "reviews.md").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if snippet in line)


LAST_REPLY = ("Every statement issued after a meeting was read; none was left out, "
              "so\nthere was nothing to choose.\n")


@pytest.mark.slow
def test_a_comment_without_a_reply(tmp_path):
    repo = variant(tmp_path, LAST_REPLY, "")
    result = respond(repo, repo / "out")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"text/reviews.md:{line_of(repo, '4. Please say')}: error: R2.4 has no "
        "reply (--draft allows it)"]
    assert not (repo / "out").exists()
    # --draft writes the letter and marks the comment.
    result = respond(repo, repo / "out", "--draft")
    assert result.returncode == 0, result.stderr
    text = pdf_text(repo / "out" / "response" / "response.pdf")
    assert "Please say how the press statements were chosen. No reply yet." in text
    assert "Comments without a reply: 1 (R2.4)." in text


@pytest.mark.slow
@pytest.mark.parametrize(("old", "new", "at", "message"), [
    ('> changed: "Talks resumed briefly in 2020"',
     '> changed: "No interviews were conducted"', '> changed: "No interviews',
     "error: R1.1: “No interviews were conducted” is not in the revised text"),
    # Words the revision deleted: the error names the change to point at.
    ('> changed: "Talks resumed briefly in 2020"',
     '> changed: "This paragraph will be deleted"', '> changed: "This paragraph',
     "error: R1.1: “This paragraph will be deleted” is not in the revised text; "
     "change 4 deleted it: point at a deletion by its number, [change 4]"),
    ("Renamed, as suggested [change 5].", "Renamed, as suggested [change 99].",
     "[change 99]", "error: R1.2: there is no change 99 (the diff has 12: python "
     "build.py diff lists them)"),
    ("# Reviewer 1\n", "# Reviewer 1\n\nA reply too early.\n",
     "A reply too early.", "a reply before any comment of “Reviewer 1” (a comment "
     "is a block quote or a numbered item)"),
    ("old: v1", "old: nosuch", "old: nosuch", "nosuch: unknown revision"),
])
def test_bad_reviews_are_one_line_naming_it(tmp_path, old, new, at, message):
    repo = variant(tmp_path, old, new)
    good = tmp_path / "good"
    (good / "response").mkdir(parents=True)
    (good / "response" / "response.pdf").write_bytes(b"the previous letter")
    result = respond(repo, good)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"text/reviews.md:{line_of(repo, at)}: {message}"]
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in (good / "response").iterdir()) == ["response.pdf"]
    assert (good / "response" / "response.pdf").read_bytes() == b"the previous letter"


@pytest.mark.slow
def test_the_reviewed_revision_from_the_command_line(letter, tmp_path):
    reviews = letter / "text" / "reviews.md"
    text = reviews.read_text(encoding="utf-8")
    reviews.write_text(text.replace("old: v1\n", ""), encoding="utf-8")
    try:
        result = respond(letter, tmp_path)
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            "text/reviews.md:1: no `old:` in the front matter: name the revision "
            "the reviewers read (or --against OLD)"]
        result = respond(letter, tmp_path, "--against", "nosuch")
        assert result.returncode == 1
        assert result.stderr.splitlines() == ["error: nosuch: unknown revision"]
        result = respond(letter, tmp_path, "--against", "v1")
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "response" / "response.pdf").read_bytes() == (
            letter / "out" / "response" / "response.pdf").read_bytes()
    finally:
        reviews.write_text(text, encoding="utf-8")


@pytest.mark.slow
def test_without_git_the_old_version_is_a_file(tmp_path):
    folder = tmp_path / "paper"
    folder.mkdir()
    for name, target in (("old.md", "paper-v1.md"), ("new.md", "paper.md")):
        text = (DIFF / name).read_text(encoding="utf-8")
        (folder / target).write_text(text.replace(
            "csl: ../../../bib/apa.csl", f"csl: {ROOT / 'bib' / 'apa.csl'}"),
            encoding="utf-8")
    (folder / "refs.bib").write_bytes((DIFF / "refs.bib").read_bytes())
    reviews = (FIXTURE / "reviews.md").read_text(encoding="utf-8")
    (folder / "reviews.md").write_text(
        reviews.replace("old: v1\nnew: v2\n", "old: v1\n"), encoding="utf-8")
    result = run_build("respond", "--manuscript", "paper.md", "-q", "--out",
                       str(tmp_path / "out"), cwd=folder)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "reviews.md:3: paper.md is not in a git repository: give `old:` as the "
        "file of the version the reviewers read (old: paper-v1.md)"]
    (folder / "reviews.md").write_text(
        reviews.replace("old: v1\nnew: v2\n", "old: paper-v1.md\n"), encoding="utf-8")
    result = run_build("respond", "--manuscript", "paper.md", "-q", "--out",
                       str(tmp_path / "out"), cwd=folder)
    assert result.returncode == 0, result.stderr
    text = pdf_text(tmp_path / "out" / "response" / "response.pdf")
    assert "Compared: paper-v1.md (reviewed) with working tree (revised)." in text
    assert sorted(placed(text)) == list(range(1, 13))


@pytest.mark.slow
def test_no_comments(tmp_path):
    repo = make_repo(tmp_path / "paper",
                     "---\nold: v1\n---\n\n# Reviewer 1\n\nNothing to say.\n")
    result = respond(repo, repo / "out")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "text/reviews.md:7: a reply before any comment of “Reviewer 1” (a "
        "comment is a block quote or a numbered item)"]
    repo2 = make_repo(tmp_path / "paper2", "---\nold: v1\n---\n\nDear Editor.\n")
    result = respond(repo2, repo2 / "out")
    assert result.stderr.splitlines() == [
        "text/reviews.md:1: no reviewer headings (`# Reviewer 1`): nothing "
        "to respond to"]


@pytest.mark.slow
def test_strict_makes_unreferenced_changes_errors(letter, tmp_path):
    result = run_build("respond", "--manuscript", "text/paper.md", "--profile",
                       "journal.yaml", "--out", str(tmp_path), cwd=letter)
    assert result.returncode == 0
    unreferenced = [line for line in result.stderr.splitlines()
                    if "is not referenced by any reply" in line]
    assert [re.search(r"change (\d+)", line)[1] for line in unreferenced] == [
        "2", "4", "6", "10", "11", "12"]
    result = respond(letter, tmp_path / "strict", "--strict")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 6
    assert lines[-1] == ("text/reviews.md: error: change 2 (text replaced, "
                         "Introduction) is not referenced by any reply: listed "
                         "under other changes (--strict)")
    assert not (tmp_path / "strict").exists()
