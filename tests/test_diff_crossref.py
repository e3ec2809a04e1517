"""Revision diffs of a numbered manuscript: a figure inserted before two
others renumbers them and every reference to them, and the diff shows one
inserted figure, not a changed number everywhere; a reference that now
points to another figure is a change.

Both revisions go through the build's reading and filters in-process
(`pubbuild.pipeline`, as `diff` runs them) and are compared by
`pubbuild.compare`; one slow test runs the real command.
tests/manuscripts/diff_crossref/new.md inserts Figure 1 (`fig-canal`)
before `fig-counter` and `fig-bridge` (now 2 and 3, referred to five times
in all), points one reference at `fig-bridge` instead of `fig-counter`,
and changes one word.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import panflute as pf
import pytest

from conftest import ROOT, run_build, write_paper
from outputs import html_text
from pubbuild import compare, pipeline

FIXTURE = ROOT / "tests" / "manuscripts" / "diff_crossref"
NBSP = "\u00a0"
# The edits made between old.md and new.md, in reading order: (section, kind).
EXPECTED = [
    ("Method", "figure inserted"),            # fig-canal, now Figure 1
    ("Results", "cross-reference changed"),   # @fig-counter -> @fig-bridge
    ("Results", "text replaced"),             # lower -> conservative
]


def read(path: Path) -> pf.Doc:
    return pipeline.run_filters(pipeline.read(path), without=("backlinks",))


def diff(old: Path, new: Path) -> compare.Result:
    return compare.compare(read(old), read(new), author="Reviewer Two",
                           date="2026-03-01T10:00:00Z", labels=("v1", "v2"))


@pytest.fixture(scope="module")
def result() -> compare.Result:
    return diff(FIXTURE / "old.md", FIXTURE / "new.md")


def kinds(result: compare.Result) -> list[tuple[str, str]]:
    return [(change.section, change.kind) for change in result.changes]


def found(doc, test) -> list:
    out: list = []
    doc.walk(lambda e, _d: out.append(e) if test(e) else None)
    return out


def marked(elem) -> str | None:
    """The change a Span or Div around `elem` marks it as: "insertion",
    "deletion" or None."""
    while elem is not None:
        classes = set(getattr(elem, "classes", []))
        for kind in ("insertion", "deletion"):
            if {kind, f"block-{kind}"} & classes and "legend" not in classes:
                return kind
        elem = elem.parent
    return None


def xrefs(doc) -> list[pf.Link]:
    return found(doc, lambda e: isinstance(e, pf.Link) and "xref" in e.classes)


def change_spans(doc, kind: str) -> list[pf.Span]:
    return found(doc, lambda e: isinstance(e, pf.Span) and kind in e.classes
                 and "legend" not in e.classes)


def test_one_inserted_figure_and_the_real_edits_are_the_changes(result):
    # Keyed by their numbers, references and captions made eleven changes
    # here: the four renumbered references in the introduction, both later
    # figures deleted and inserted again, besides the three real ones.
    assert kinds(result) == EXPECTED
    figure, target, word = result.changes
    assert figure.new == f"Figure{NBSP}1: The canal seen from the lock."
    assert (target.old, target.new) == (f"Figure{NBSP}2", f"Figure{NBSP}3")
    assert (word.old, word.new) == ("lower", "conservative")
    summary = result.summary
    assert summary["changes"] == 3
    assert summary["paragraphs"] == {"Method": {"inserted": 1},
                                     "Results": {"changed": 1}}
    assert summary["cross-references"] == {"added": 0, "removed": 0, "changed": 1}
    assert summary["words"] == {"inserted": 1, "deleted": 1}
    # The inserted figure is marked as one block, in its place.
    [block] = found(result.doc, lambda e: isinstance(e, pf.Div)
                    and "block-insertion" in e.classes)
    [inserted] = block.content
    assert isinstance(inserted, pf.Figure) and inserted.identifier == "fig-canal"
    figures = [e.identifier for e in found(result.doc,
                                           lambda e: isinstance(e, pf.Figure))]
    assert figures == ["fig-canal", "fig-counter", "fig-bridge"]


def test_renumbered_references_and_figures_show_new_numbers_unmarked(result):
    links = [(link.attributes["xref-id"], pf.stringify(link), marked(link))
             for link in xrefs(result.doc)]
    # Reading order: the introduction's three references (the group's words
    # "Figures 2 and 3" around the bare numbers), the equation's, then the
    # results' two; only the one pointed elsewhere is marked.
    assert links == [
        ("fig-counter", f"Figure{NBSP}2", None), ("fig-bridge", f"Figure{NBSP}3", None),
        ("fig-counter", "2", None), ("fig-bridge", "3", None),
        ("eq-flow", f"Equation{NBSP}1", None), ("tbl-totals", f"Table{NBSP}1", None),
        ("fig-counter", f"Figure{NBSP}2", "deletion"),
        ("fig-bridge", f"Figure{NBSP}3", "insertion"),
    ]
    intro = pf.stringify(result.doc.content[2])
    assert f"both appear in Figures{NBSP}2 and 3." in intro
    labels = [(pf.stringify(e), marked(e)) for e in found(
        result.doc, lambda e: isinstance(e, pf.Span) and "xref-label" in e.classes)]
    assert labels == [(f"Figure{NBSP}1", "insertion"), (f"Figure{NBSP}2", None),
                      (f"Figure{NBSP}3", None), (f"Table{NBSP}1", None)]
    # The equation and the table are unchanged, and unmarked.
    [equation] = found(result.doc, lambda e: isinstance(e, pf.Span)
                       and "equation" in e.classes)
    assert equation.identifier == "eq-flow" and marked(equation) is None


def test_a_reference_pointed_elsewhere_is_a_deletion_and_an_insertion(result):
    deletion = change_spans(result.doc, "deletion")[0]
    insertion = change_spans(result.doc, "insertion")[0]
    [old_link], [new_link] = xrefs(deletion), xrefs(insertion)
    # The old reference is printed in the new numbering (fig-counter is now
    # Figure 2), so that the struck-out text names the figure it meant.
    assert (old_link.attributes["xref-id"], pf.stringify(old_link)) == (
        "fig-counter", f"Figure{NBSP}2")
    assert old_link.url == "#fig-counter"
    assert (new_link.attributes["xref-id"], pf.stringify(new_link)) == (
        "fig-bridge", f"Figure{NBSP}3")
    assert deletion.identifier == "change-2" and insertion.identifier == ""
    # Only the real edits are marked inline: the reference and the word.
    assert [pf.stringify(s) for s in change_spans(result.doc, "deletion")] == [
        f"Figure{NBSP}2", "lower"]
    assert [pf.stringify(s) for s in change_spans(result.doc, "insertion")] == [
        f"Figure{NBSP}3", "conservative"]


def test_the_json_change_list(result):
    old = SimpleNamespace(label="v1", commit="a" * 40)
    new = SimpleNamespace(label="v2", commit=None)
    data = json.loads(compare.to_json(result, old, new, "Reviewer Two",
                                      "2026-03-01T10:00:00Z"))
    assert [(c["section"], c["kind"]) for c in data["changes"]] == EXPECTED
    assert [c["id"] for c in data["changes"]] == ["change-1", "change-2", "change-3"]
    assert data["summary"]["changes"] == len(data["changes"]) == 3


TEMPLATE = """\
---
title: Counting the towpath
bibliography: refs.bib
csl: apa.csl
---

# Introduction {{#sec-intro}}

Towpaths are seldom counted ([Vu, 2021](#)).

{inserted}{target}As @{ident} shows, the counts hold.
"""

# kind: (the target, one of its kind inserted before it, the change, its
# reference before and after)
INSERTIONS = {
    "figure": ("![A counter.](a.svg){#fig-a}\n\n",
               "![The canal.](a.svg){#fig-new}\n\n",
               ("Introduction", "figure inserted"), "fig-a", "Figure"),
    "table": ("| Bridge |\n|--------|\n| Lock   |\n\n: Totals. {#tbl-a}\n\n",
              "| Canal |\n|-------|\n| Lock  |\n\n: Canals. {#tbl-new}\n\n",
              ("Introduction", "table inserted"), "tbl-a", "Table"),
    "equation": ("$$ a + b $$ {#eq-a}\n\n", "$$ z^2 $$ {#eq-new}\n\n",
                 ("Introduction", "paragraph inserted"), "eq-a", "Equation"),
    "listing": ('```{#lst-a lst-cap="Counting."}\ncount()\n```\n\n',
                '```{#lst-new lst-cap="Checking."}\ncheck()\n```\n\n',
                ("Introduction", "listing inserted"), "lst-a", "Listing"),
    "section": ("# Method {#sec-a}\n\n", "# Background {#sec-new}\n\n",
                ("Background", "heading inserted"), "sec-a", "Section"),
}


@pytest.mark.parametrize("kind", INSERTIONS)
def test_one_of_a_kind_inserted_renumbers_without_changes(tmp_path, kind):
    target, inserted, change, ident, word = INSERTIONS[kind]
    shutil.copy(FIXTURE / "counter.svg", tmp_path / "a.svg")
    old = write_paper(tmp_path, TEMPLATE.format(inserted="", target=target,
                                                ident=ident), "old.md")
    new = write_paper(tmp_path, TEMPLATE.format(inserted=inserted, target=target,
                                                ident=ident), "new.md")
    result = diff(old, new)
    assert kinds(result) == [change]
    # Sections are numbered here (a section is referred to): Method was 2.
    number = "3" if kind == "section" else "2"
    [link] = [link for link in xrefs(result.doc)
              if link.attributes["xref-id"] == ident]
    assert (pf.stringify(link), marked(link)) == (f"{word}{NBSP}{number}", None)
    # Nothing outside the inserted block is marked.
    for how in ("insertion", "deletion"):
        for span in change_spans(result.doc, how):
            assert marked(span.parent) == "insertion", pf.stringify(span)


def test_section_names_in_the_change_list_carry_no_numbers(tmp_path):
    text = TEMPLATE.format(inserted="# Background {#sec-new}\n\n",
                           target="# Method {#sec-a}\n\n", ident="sec-a")
    old = write_paper(tmp_path, text, "old.md")
    new = write_paper(tmp_path, text.replace("counts hold", "counts stand"),
                      "new.md")
    result = diff(old, new)
    # "Method", not "3 Method": the change list names sections as the
    # author does, and a renumbering does not rename them.
    assert kinds(result) == [("Method", "text replaced")]
    assert list(result.summary["paragraphs"]) == ["Method"]
    [heading] = [b for b in result.doc.content if isinstance(b, pf.Header)
                 and b.identifier == "sec-a"]
    assert pf.stringify(heading) == "3 Method"


def test_section_numbers_that_appear_rename_no_heading(tmp_path):
    # The first reference to a section numbers every heading (the filter
    # shows numbers when a section is referred to): the reference is the
    # change, not each heading gaining a number.
    text = TEMPLATE.format(inserted="", target="# Method {#sec-a}\n\n",
                           ident="sec-a")
    old = write_paper(tmp_path, text.replace("As @sec-a shows", "As shown"),
                      "old.md")
    new = write_paper(tmp_path, text, "new.md")
    result = diff(old, new)
    assert kinds(result) == [("Method", "cross-reference added")]
    assert result.summary["cross-references"] == {"added": 1, "removed": 0,
                                                  "changed": 0}
    headings = [(pf.stringify(b), marked(b)) for b in result.doc.content
                if isinstance(b, pf.Header) and b.identifier != "bibliography"]
    assert headings == [("1 Introduction", None), ("2 Method", None)]


@pytest.mark.slow
def test_the_diff_command_reports_one_inserted_figure(tmp_path):
    result = run_build("diff", "--files", str(FIXTURE / "old.md"),
                       str(FIXTURE / "new.md"), "--out", str(tmp_path),
                       "--author", "Reviewer Two", "--date", "2026-03-01T10:00:00Z")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("3 changes from ")
    data = json.loads((tmp_path / "diff" / "new-diff.json").read_text("utf-8"))
    assert [(c["section"], c["kind"]) for c in data["changes"]] == EXPECTED
    text = html_text((tmp_path / "diff" / "new-diff.html").read_text("utf-8"))
    assert "cross-references: 0 added, 0 removed, 1 changed" in text
    # (html_text folds the no-break spaces into spaces.)
    assert "the bridge in Figure 3; both appear in Figures 2 and 3." in text
