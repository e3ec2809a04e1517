"""Revision diffs: known edits between two versions of a small manuscript
come out as exactly those changes, in HTML, PDF, Word and JSON."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import ROOT, run_build
from outputs import html_text, pdf_text
from pubbuild import pandoc

FIXTURE = ROOT / "tests" / "manuscripts" / "diff"
# The edits made between old.md and new.md, in reading order: (section, kind).
EXPECTED = [
    ("Abstract", "text replaced"),               # wanting -> promising
    ("Introduction", "text replaced"),           # slow -> sluggish
    ("Introduction", "text inserted"),           # a sentence
    ("Introduction", "paragraph deleted"),
    ("Approach", "heading renamed"),             # Methods -> Approach
    ("Approach", "paragraph moved"),             # from the Introduction
    ("Approach", "citation changed"),            # p. 2 -> p. 3
    ("Approach", "citation removed"),            # (Snyder, 2019)
    ("Conclusion", "citation added"),            # (Vu, 2021)
    ("Conclusion", "text inserted"),             # "great", inside the moved one
    ("Conclusion", "paragraph moved and edited"),
    ("References", "reference removed"),         # Snyder, no longer cited
]


def diff(*args: str, cwd: Path | None = None):
    return run_build("diff", *args, cwd=cwd)


@pytest.fixture(scope="module")
def fixture_diff(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("diff")
    result = diff("--files", str(FIXTURE / "old.md"), str(FIXTURE / "new.md"),
                  "--out", str(out), "--author", "Reviewer Two",
                  "--date", "2026-03-01T10:00:00Z")
    assert result.returncode == 0, result.stderr
    return out / "diff"


def changes(folder: Path, name: str = "new-diff") -> list[dict]:
    return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))["changes"]


@pytest.mark.slow
def test_exactly_the_known_edits(fixture_diff):
    found = changes(fixture_diff)
    assert [(c["section"], c["kind"]) for c in found] == EXPECTED
    by_kind = {c["kind"]: c for c in found}
    assert (found[1]["old"], found[1]["new"]) == ("slow", "sluggish")
    assert found[2]["new"] == "Talks resumed briefly in 2020."
    assert by_kind["heading renamed"]["old"] == "Methods"
    assert by_kind["citation changed"]["old"] == "(Falk & Fischbacher, 2001, p. 2)"
    assert by_kind["citation changed"]["new"] == "(Falk & Fischbacher, 2001, p. 3)"
    assert by_kind["paragraph moved"]["new"].startswith("The theory of reciprocity")
    assert by_kind["reference removed"]["old"].startswith("Snyder, S. (2019).")


@pytest.mark.slow
def test_summary_counts(fixture_diff):
    data = json.loads((fixture_diff / "new-diff.json").read_text())
    summary = data["summary"]
    assert summary["citations"] == {"added": 1, "removed": 1, "changed": 1}
    assert summary["references"] == {"added": 0, "removed": 1, "changed": 0}
    assert summary["metadata"] == ["abstract"]
    assert summary["paragraphs"]["Introduction"] == {"changed": 2, "deleted": 1}
    assert summary["paragraphs"]["Approach"] == {"changed": 2, "heading renamed": 1,
                                                 "moved": 1}
    assert (data["author"], data["date"]) == ("Reviewer Two", "2026-03-01T10:00:00Z")


@pytest.mark.slow
def test_html_marks_every_change_accessibly(fixture_diff, vnu):
    html = (fixture_diff / "new-diff.html").read_text(encoding="utf-8")
    errors, _ = vnu(fixture_diff / "new-diff.html")
    assert errors == []
    # Each change is linkable from the summary.
    for number in range(1, len(EXPECTED) + 1):
        anchor = f"change-{number}"
        if f'href="#{anchor}"' in html:
            assert f'id="{anchor}"' in html
    assert html.count('class="insertion"') >= 6 and html.count('class="deletion"') >= 6
    # Not colour alone: the stylesheet underlines and strikes, and a legend says so.
    assert "text-decoration: underline" in html and "line-through" in html
    text = html_text(html)
    assert "Legend: inserted text, deleted text, moved paragraph." in text
    # A move is marked at both ends, each linking to the other.
    assert 'id="move-1-from"' in html and 'href="#move-1"' in html
    assert 'id="move-1"' in html and 'href="#move-1-from"' in html
    assert "Moved to “Approach” ↓" in text and "Moved from “Introduction” ↑" in text


@pytest.mark.slow
def test_pdf_has_the_same_changes(fixture_diff):
    text = pdf_text(fixture_diff / "new-diff.pdf")
    assert "Changes from" in text and "References: reference removed" in text
    assert "slowsluggish" in text.replace(" ", "")  # deleted then inserted
    assert "Moved to “Approach”" in text
    assert len(PdfReader(fixture_diff / "new-diff.pdf").pages) >= 1


@pytest.mark.slow
def test_word_file_has_real_tracked_changes(fixture_diff):
    out, _ = pandoc.run([str(fixture_diff / "new-diff.docx"), "--track-changes=all",
                         "-t", "json"])
    doc = json.loads(out)
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("t") == "Span":
                (_, classes, attributes), content = node["c"]
                if classes and classes[0] in ("insertion", "deletion"):
                    found.append((classes[0], dict(attributes)["author"],
                                  _plain(content)))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc["blocks"])
    assert all(author == "Reviewer Two" for _, author, _ in found)
    pairs = [(kind, text) for kind, _, text in found]
    # Word shows a move as a deletion where it was and an insertion where
    # it is; every other change as it is in the HTML.
    assert pairs == [
        ("deletion", "wanting."), ("insertion", "promising."),
        ("deletion", "slow"), ("insertion", "sluggish"),
        ("insertion", "Talks resumed briefly in 2020."),
        ("deletion", "This paragraph will be deleted in the next revision, "
                     "entirely and for good."),
        ("deletion", "The theory of reciprocity explains why gestures matter "
                     "(Falk & Fischbacher, 2001, p. 1)."),
        ("deletion", "Methods"), ("insertion", "Approach"),
        ("insertion", "The theory of reciprocity explains why gestures matter "
                      "(Falk & Fischbacher, 2001, p. 1)."),
        ("deletion", "(Falk & Fischbacher, 2001, p. 2)"),
        ("insertion", "(Falk & Fischbacher, 2001, p. 3)"),
        ("deletion", "Experts disagree about what comes next, and they say so at "
                     "length in interviews."),
        ("deletion", "observers (Snyder, 2019)."), ("insertion", "observers."),
        ("deletion", "plan."), ("insertion", "plan (Vu, 2021)."),
        ("insertion", "Experts disagree about what comes next, and they say so at "
                      "great length in interviews."),
        ("deletion", "Snyder, S. (2019). Where does the relationship stand? "
                     "https://example.org/snyder"),
    ]


def _plain(content) -> str:
    parts = []

    def walk(node):
        if isinstance(node, dict):
            kind = node.get("t")
            if kind == "Str":
                parts.append(node["c"])
            elif kind in ("Space", "SoftBreak"):
                parts.append(" ")
            elif kind == "Quoted":
                parts.append("“")
                walk(node["c"][1])
                parts.append("”")
                return
            else:
                walk(node.get("c"))
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(content)
    return "".join(parts)


@pytest.mark.slow
def test_identical_versions_have_no_changes(tmp_path):
    result = diff("--files", str(FIXTURE / "old.md"), str(FIXTURE / "old.md"),
                  "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert changes(tmp_path / "diff", "old-diff") == []
    assert "No changes." in html_text((tmp_path / "diff" / "old-diff.html").read_text())


@pytest.mark.slow
def test_retyped_citations_and_quotes_are_not_changes(tmp_path):
    text = (FIXTURE / "old.md").read_text(encoding="utf-8").replace(
        "csl: ../../../bib/apa.csl", f"csl: {ROOT / 'bib' / 'apa.csl'}")
    retyped = (text.replace("([Vu, 2021](#))", "[@vu2021]")
               .replace('"complicated"', "“complicated”")
               .replace("(Falk & Fischbacher, 2001, p. 1)", "[@falk2001, p. 1]"))
    assert retyped != text
    (tmp_path / "retyped.md").write_text(retyped, encoding="utf-8")
    (tmp_path / "refs.bib").write_bytes((FIXTURE / "refs.bib").read_bytes())
    original = tmp_path / "original.md"
    original.write_text(text, encoding="utf-8")
    result = diff("--files", str(original), str(tmp_path / "retyped.md"),
                  "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert changes(tmp_path / "diff", "retyped-diff") == []


def git(repo: Path, *args: str, date: str = "2026-02-01T09:00:00Z"):
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ada Lovelace",
           "GIT_AUTHOR_EMAIL": "ada@example.org", "GIT_COMMITTER_NAME": "Ada Lovelace",
           "GIT_COMMITTER_EMAIL": "ada@example.org", "GIT_AUTHOR_DATE": date,
           "GIT_COMMITTER_DATE": date}
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


@pytest.fixture
def repo(tmp_path) -> Path:
    repo = tmp_path / "paper"
    (repo / "text").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "README").write_text("A paper.\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Start")
    (repo / "refs.bib").write_bytes((FIXTURE / "refs.bib").read_bytes())
    old = (FIXTURE / "old.md").read_text().replace("bibliography: refs.bib",
                                                   "bibliography: ../refs.bib")
    old = old.replace("csl: ../../../bib/apa.csl", f"csl: {ROOT / 'bib' / 'apa.csl'}")
    (repo / "text" / "paper.md").write_text(old)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "First draft")
    new = old.replace("has been slow", "has been sluggish")
    (repo / "text" / "paper.md").write_text(new)
    git(repo, "commit", "-q", "-am", "Revision", date="2026-03-05T16:30:00Z")
    return repo


@pytest.mark.slow
def test_diff_between_two_commits(repo, tmp_path):
    out = tmp_path / "out"
    result = diff("HEAD~1", "HEAD", "--manuscript", "text/paper.md", "--out", str(out),
                  cwd=repo)
    assert result.returncode == 0, result.stderr
    found = changes(out / "diff", "paper-diff")
    assert [(c["kind"], c["old"], c["new"]) for c in found] == [
        ("text replaced", "slow", "sluggish")]
    data = json.loads((out / "diff" / "paper-diff.json").read_text())
    # The tracked change is NEW's commit: its author and date.
    assert (data["author"], data["date"]) == ("Ada Lovelace", "2026-03-05T16:30:00Z")
    assert data["old"]["revision"] == "HEAD~1" and len(data["old"]["commit"]) == 40
    # NEW defaults to the working tree.
    (repo / "text" / "paper.md").write_text(
        (repo / "text" / "paper.md").read_text().replace("plan.", "plan, soon."))
    result = diff("HEAD", "--manuscript", "text/paper.md", "--out", str(out), cwd=repo)
    assert result.returncode == 0, result.stderr
    found = changes(out / "diff", "paper-diff")
    assert [(c["old"], c["new"]) for c in found] == [("plan.", "plan, soon.")]


@pytest.mark.slow
@pytest.mark.parametrize(("revision", "expected"), [
    ("nosuch", "nosuch: unknown revision"),
    ("HEAD~2", "HEAD~2: text/paper.md does not exist in this revision"),
])
def test_bad_revisions(repo, tmp_path, revision, expected):
    result = diff(revision, "HEAD", "--manuscript", "text/paper.md",
                  "--out", str(tmp_path / "out"), cwd=repo)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: {expected}"]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_revision_that_does_not_parse(repo, tmp_path):
    paper = repo / "text" / "paper.md"
    paper.write_text(paper.read_text().replace('title: "A Small', 'title: ["A Small'))
    git(repo, "commit", "-q", "-am", "Broken front matter")
    result = diff("HEAD~1", "HEAD", "--manuscript", "text/paper.md",
                  "--out", str(tmp_path / "out"), cwd=repo)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("HEAD:text/paper.md:2: YAML front matter: ")


def _word_text(docx: Path, how: str) -> list[str]:
    out, _ = pandoc.run([str(docx), f"--track-changes={how}", "-t", "plain",
                         "--wrap=none"])
    return [line for line in out.splitlines() if line.strip()]


@pytest.mark.slow
def test_accepting_or_rejecting_every_change_in_word(fixture_diff):
    """Accept all gives NEW, reject all gives OLD, paragraph for paragraph:
    whole paragraphs are tracked with their paragraph marks, so nothing is
    left behind as an empty paragraph."""
    from pubbuild import pipeline

    def body(lines: list[str]) -> list[str]:
        return lines[lines.index("Introduction"):]

    def ours(name: str) -> list[str]:
        doc = pipeline.run_filters(pipeline.read(FIXTURE / name),
                                   without=("backlinks",))
        out, _ = pandoc.run(["-f", "json", "-t", "plain", "--wrap=none"],
                            pandoc.to_json(doc))
        return [line for line in out.splitlines() if line.strip()]

    docx = fixture_diff / "new-diff.docx"
    assert body(_word_text(docx, "reject")) == body(ours("old.md"))
    assert body(_word_text(docx, "accept")) == body(ours("new.md"))


@pytest.mark.slow
def test_word_ids_are_unique_and_paragraph_marks_tracked(fixture_diff):
    import re
    import zipfile

    with zipfile.ZipFile(fixture_diff / "new-diff.docx") as docx:
        xml = docx.read("word/document.xml").decode("utf-8")
    ids = re.findall(r'<w:(?:ins|del) [^>]*w:id="(\d+)"', xml)
    assert len(ids) == len(set(ids))
    # 2 whole paragraphs inserted (the new ends of the moves), 4 deleted
    # (one paragraph, the old ends of the moves, the Snyder reference).
    assert xml.count("<w:rPr><w:ins ") == 2
    assert xml.count("<w:rPr><w:del ") == 4
