"""Word's own numbering in the DOCX: caption and equation numbers are SEQ
fields inside bookmarks, references are REF fields to them, an equation's
number sits at the right margin (pubbuild/docxfields.py).

Word's "Update fields" (F9) and LibreOffice, which recomputes on load,
must show exactly the numbers the build computed; `_update_fields` does
what they do, on the XML.
"""

from __future__ import annotations

import datetime
import io
import re
import shutil
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import panflute as pf
import pytest
from lxml import etree

from conftest import ROOT, run_build, write_paper
from pubbuild import docxfields, formats, pipeline, wordref

W = docxfields.W
M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
NS = {"w": docxfields.W_NS}
WHEN = datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)
IMAGES = ROOT / "tests" / "manuscripts" / "crossref"

MANUSCRIPT = """\
---
title: Fields in Word
bibliography: refs.bib
csl: apa.csl
---

# Introduction {#sec-intro}

The bridge is in @fig-a, both counters in [@fig-a; @fig-b], the totals in
@tbl-x, the model in @eq-x, the code in @lst-x and the panels in @fig-s;
the left panel is @fig-s-one. @sec-method says how [@vu2021].

![Bridge](bridge.svg){#fig-a}

$$ a^2 + b^2 = c^2 $$ {#eq-x}

| Bridge | Mean |
|--------|-----:|
| Lock   |  410 |

: Totals {#tbl-x}

# Method {#sec-method}

![Counter](counter.svg){#fig-b}

::: {#fig-s layout-ncol=2}
![One](bridge.svg){#fig-s-one}

![Two](counter.svg){#fig-s-two}

Both panels
:::

```{#lst-x .python lst-cap="Code"}
print("hi")
```

The flow obeys $$ F = \\alpha + \\beta T $$ {#eq-y} on every bridge.

As \\eqref{eq-y} shows, and @fig-s-two too.
"""
# What the build numbered: the reader sees these in every format.
CAPTIONS = [("Figure", "1", "fig-a"), ("Table", "1", "tbl-x"),
            ("Figure", "2", "fig-b"), ("Figure", "3", "fig-s"),
            ("Listing", "1", "lst-x")]


def _front(title: str, *lines: str) -> str:
    """The front matter of a small manuscript (the build wants a
    bibliography, even where nothing is cited)."""
    return "\n".join(["---", f"title: {title}", "bibliography: refs.bib", *lines,
                      "---", "", ""])


def _paper(folder: Path, text: str = MANUSCRIPT) -> Path:
    for image in IMAGES.glob("*.svg"):
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(image, folder / image.name)
    return write_paper(folder, text)


def _docx(paper: Path, reference: bytes | None = None) -> bytes:
    source = pipeline.read(paper)
    doc = pipeline.run_filters(source)
    job = formats.Job(source.path, source.path.stem, source.reporter, WHEN)
    return formats.docx(doc, job, reference)


def _document(data: bytes):
    with zipfile.ZipFile(io.BytesIO(data)) as docx:
        return etree.fromstring(docx.read("word/document.xml"))


@pytest.fixture(scope="module")
def paper(tmp_path_factory) -> Path:
    return _paper(tmp_path_factory.mktemp("fields") / "paper")


@pytest.fixture(scope="module")
def built(paper) -> bytes:
    return _docx(paper)


@pytest.fixture(scope="module")
def root(built):
    return _document(built)


# -- reading fields and bookmarks as Word does ---------------------------------

@dataclass
class Field:
    instruction: str = ""
    result: str = ""
    paragraph: object = None
    pieces: list = field(default_factory=list)  # indices of its result text


@dataclass
class Story:
    """The text of document.xml in reading order, with its fields and
    bookmarks (by name: the range of text pieces they hold)."""

    pieces: list = field(default_factory=list)   # (text, field index or None)
    fields: list = field(default_factory=list)
    bookmarks: dict = field(default_factory=dict)

    def text(self, start: int, end: int, results: dict | None = None) -> str:
        """The text of pieces[start:end]; `results` (field index -> text)
        in place of the cached results of those fields."""
        out, done = [], set()
        for text, index in self.pieces[start:end]:
            if results is None or index is None:
                out.append(text)
            elif index not in done:
                done.add(index)
                out.append(results[index])
        return "".join(out)

    def holding(self, name: str) -> list[int]:
        """The fields a bookmark holds."""
        start, end = self.bookmarks[name]
        return sorted({index for _, index in self.pieces[start:end]
                       if index is not None})


def _story(root) -> Story:
    story, open_marks, current, state = Story(), {}, None, ""
    for element in root.iter(etree.Element):
        tag = element.tag
        if tag == f"{W}fldChar":
            kind = element.get(f"{W}fldCharType")
            if kind == "begin":
                current = Field(paragraph=next(element.iterancestors(f"{W}p")))
                story.fields.append(current)
                state = "code"
            elif kind == "separate":
                state = "result"
            else:
                current, state = None, ""
        elif tag == f"{W}instrText" and state == "code":
            current.instruction += element.text or ""
        elif tag == f"{W}t":
            index = len(story.fields) - 1 if state == "result" else None
            if index is not None:
                current.result += element.text or ""
                current.pieces.append(len(story.pieces))
            story.pieces.append((element.text or "", index))
        elif tag == f"{W}tab" and element.getparent().tag == f"{W}r":
            story.pieces.append(("\t", None))
        elif tag == f"{W}bookmarkStart":
            open_marks[element.get(f"{W}id")] = (element.get(f"{W}name"),
                                                 len(story.pieces))
        elif tag == f"{W}bookmarkEnd":
            name, start = open_marks.pop(element.get(f"{W}id"))
            story.bookmarks[name] = (start, len(story.pieces))
    return story


def _words(instruction: str) -> list[str]:
    return instruction.split()


def _update_fields(story: Story) -> dict[int, str]:
    """What Word shows after Update fields: each SEQ counts its identifier
    in document order, each REF shows its bookmark's (updated) text."""
    results, counts = {}, Counter()
    for index, found in enumerate(story.fields):
        words = _words(found.instruction)
        if words[0] == "SEQ":
            counts[words[1]] += 1
            results[index] = str(counts[words[1]])
    for index, found in enumerate(story.fields):
        words = _words(found.instruction)
        if words[0] == "REF":
            start, end = story.bookmarks[words[1]]
            results[index] = story.text(start, end, results)
    return results


def _paragraph_text(paragraph) -> str:
    return "".join(t.text or "" for t in paragraph.iter(f"{W}t"))


# -- captions ------------------------------------------------------------------

def test_each_caption_number_is_a_seq_field_in_a_bookmark(root):
    story = _story(root)
    seqs = [f for f in story.fields if _words(f.instruction)[0] == "SEQ"
            and _words(f.instruction)[1] != "Equation"]
    # Word's Insert Table of Figures and Update fields find captions by
    # their SEQ fields: one per numbered caption, with the caption's label.
    assert [(_words(f.instruction)[1], f.result) for f in seqs] == \
        [(label, number) for label, number, _ in CAPTIONS]
    assert all(_words(f.instruction)[2:] == ["\\*", "ARABIC"] for f in seqs)
    for found, (label, number, ident) in zip(seqs, CAPTIONS, strict=True):
        text = _paragraph_text(found.paragraph)
        # The caption still reads "Figure 1: Bridge" to a reader.
        assert text.startswith(f"{label}\u00a0{number}:"), text
        bookmark = "_Ref_" + ident.replace("-", "_")
        # A cross-reference to the caption needs a bookmark around exactly
        # its number, or Word's REF would print the whole caption.
        assert bookmark in story.bookmarks, (ident, sorted(story.bookmarks))
        assert story.holding(bookmark) == [story.fields.index(found)]
        assert story.text(*story.bookmarks[bookmark]) == number


def test_subfigure_letters_stay_text(root):
    text = [_paragraph_text(p) for p in root.iter(f"{W}p")]
    # "(a)" and "(b)" under the panels: a letter never changes when figures
    # are renumbered, so it is no field and no SEQ count is taken by it.
    assert "(a) One" in text and "(b) Two" in text, text
    panel = next(p for p in root.iter(f"{W}p") if _paragraph_text(p) == "(a) One")
    assert panel.find(f".//{W}fldChar") is None


# -- references ----------------------------------------------------------------

def test_each_reference_is_a_ref_field_to_its_bookmark(root):
    story = _story(root)
    refs = [f for f in story.fields if _words(f.instruction)[0] == "REF"]
    shown = [(_words(f.instruction)[1], f.result) for f in refs]
    # In reading order: what each reference's number points to and shows.
    assert shown == [
        ("_Ref_fig_a", "1"), ("_Ref_fig_a", "1"), ("_Ref_fig_b", "2"),
        ("_Ref_tbl_x", "1"), ("_Ref_eq_x", "1"), ("_Ref_lst_x", "1"),
        ("_Ref_fig_s", "3"), ("_Ref_fig_s", "3"), ("_Ref_sec_method", "2"),
        ("_Ref_eq_y", "2"), ("_Ref_fig_s", "3")]
    # \h: Ctrl+click on a number jumps to the figure, as the link did.
    assert all(_words(f.instruction)[2:] == ["\\h"] for f in refs)
    # A REF to a missing bookmark shows "Error! Reference source not found."
    assert {name for name, _ in shown} <= set(story.bookmarks)


def test_references_read_as_before(root):
    body = [_paragraph_text(p) for p in root.iter(f"{W}p")]
    nbsp = "\u00a0"
    first = next(text for text in body if text.startswith("The bridge"))
    # The words around the numbers stay text: the sentence reads the same.
    assert first.startswith(
            f"The bridge is in Figure{nbsp}1, both counters in Figures{nbsp}1 and 2,"
            f" the totals in Table{nbsp}1, the model in Equation{nbsp}1, "
            f"the code in Listing{nbsp}1 and the panels in Figure{nbsp}3; the "
            f"left panel is Figure{nbsp}3a. Section{nbsp}2 says how"), first
    last = next(text for text in body if text.startswith("As "))
    # \eqref prints "(2)": the brackets are text, the number the field.
    assert last == f"As (2) shows, and Figure{nbsp}3b too.", last
    # Section numbers are text in the heading, with a bookmark to refer to.
    assert "2 Method" in body


def test_references_are_no_longer_plain_hyperlinks(root):
    anchors = {h.get(f"{W}anchor") for h in root.iter(f"{W}hyperlink")
               if h.get(f"{W}anchor")}
    # A hyperlink around "Figure 1" would be a second, stale copy of the
    # number next to the field; only the citation links remain.
    assert anchors == {"ref-vu2021", "cite-1"}, anchors


# -- equations -----------------------------------------------------------------

def _equation_paragraphs(root) -> list:
    return [p for p in root.iter(f"{W}p")
            if any("SEQ Equation" in (t.text or "") for t in p.iter(f"{W}instrText"))]


def test_equation_number_is_at_the_right_margin(root):
    paragraphs = _equation_paragraphs(root)
    assert len(paragraphs) == 2
    for paragraph, number in zip(paragraphs, ("1", "2"), strict=True):
        stops = [(tab.get(f"{W}val"), tab.get(f"{W}pos"))
                 for tab in paragraph.findall(f"{W}pPr/{W}tabs/{W}tab")]
        # pandoc's default page sets no size: Word's Letter, 1 inch margins,
        # a text column of 9360 twips. Centred formula, number at the edge.
        assert stops == [("center", "4680"), ("right", "9360")]
        children = [child.tag for child in paragraph
                    if child.tag not in (f"{W}pPr", f"{W}bookmarkStart",
                                         f"{W}bookmarkEnd")]
        # An m:oMathPara takes the whole line and pushes the number below
        # it; an inline m:oMath shares the line with the tabs and number.
        assert paragraph.find(f".//{M}oMathPara") is None
        assert children[:3] == [f"{W}r", f"{M}oMath", f"{W}r"], children
        runs = [r for r in paragraph if r.tag == f"{W}r"]
        assert runs[0].find(f"{W}tab") is not None
        assert runs[1].find(f"{W}tab") is not None
        assert _paragraph_text(paragraph) == f"({number})"


def test_equation_in_running_text_gets_a_line_of_its_own(root):
    texts = [_paragraph_text(p) for p in root.iter(f"{W}p")]
    # "The flow obeys $$…$$ {#eq-y} on every bridge.": the number could not
    # sit at the margin with words on its line; the text before and after
    # stays, as paragraphs around the equation (as pandoc does without id).
    at = texts.index("(2)")
    assert texts[at - 1] == "The flow obeys" and texts[at + 1] == "on every bridge."


def test_equation_tab_stops_follow_the_submission_page(tmp_path):
    reference = wordref.reference_docx(line_numbers=False)
    root = _document(_docx(_paper(tmp_path / "paper"), reference))
    paragraph = _equation_paragraphs(root)[0]
    stops = [(tab.get(f"{W}val"), tab.get(f"{W}pos"))
             for tab in paragraph.findall(f"{W}pPr/{W}tabs/{W}tab")]
    # A4 (11906 twips) with 1440 margins: 9026 of text. Tabs set for Letter
    # would put the number 334 twips (6 mm) short of the margin.
    assert stops == [("center", "4513"), ("right", "9026")]


def test_tab_stops_come_from_the_equations_own_section():
    body = (f'<w:document xmlns:w="{docxfields.W_NS}"><w:body>'
            '<w:p><w:pPr><w:pStyle w:val="BodyText"/><w:jc w:val="left"/></w:pPr></w:p>'
            '<w:p><w:pPr><w:sectPr><w:pgSz w:w="16838"/>'
            '<w:pgMar w:left="1000" w:right="1000" w:gutter="200"/>'
            '<w:cols w:num="2" w:space="638"/></w:sectPr></w:pPr></w:p>'
            '<w:sectPr><w:pgSz w:w="11906"/><w:pgMar w:left="1440" w:right="1440"/>'
            "</w:sectPr></w:body></w:document>")
    paragraph = etree.fromstring(body).find(f".//{W}p")
    docxfields._tab_stops(paragraph)
    # Landscape A4 in two columns: each column (16838-2000-200-638)/2 wide;
    # the number at a column's edge, not at the page's.
    assert [(t.get(f"{W}val"), t.get(f"{W}pos"))
            for t in paragraph.iter(f"{W}tab")] == [("center", "3500"),
                                                    ("right", "7000")]
    # w:tabs goes where the schema puts it (after pStyle, before jc), or
    # Word calls the file corrupt.
    assert [child.tag for child in paragraph.find(f"{W}pPr")] == [
        f"{W}pStyle", f"{W}tabs", f"{W}jc"]


# -- what Word's Update fields does --------------------------------------------

def test_updating_fields_changes_no_number(root):
    story = _story(root)
    updated = _update_fields(story)
    # If a recount differed, the reader would see numbers change the moment
    # Word (or LibreOffice, on opening) updates the fields.
    assert len(updated) == len(story.fields) == 11 + 5 + 2
    for index, found in enumerate(story.fields):
        assert updated[index] == found.result, (found.instruction, found.result)


def test_bookmarks_are_word_names_with_unique_ids(root):
    starts = list(root.iter(f"{W}bookmarkStart"))
    ends = list(root.iter(f"{W}bookmarkEnd"))
    ids = [b.get(f"{W}id") for b in starts]
    # Duplicate or non-numeric ids make Word repair the file on opening.
    assert all(i.isdigit() for i in ids) and len(ids) == len(set(ids)), ids
    assert sorted(ids) == sorted(e.get(f"{W}id") for e in ends)
    ours = [b.get(f"{W}name") for b in starts if b.get(f"{W}name").startswith("_")]
    # Word drops a bookmark whose name is not a letter or "_" then letters,
    # digits and "_", up to 40: the REF fields would then find nothing.
    assert all(re.fullmatch(r"_\w{1,39}", name, re.ASCII) for name in ours), ours
    # 5 captions, 2 equations, the one section referred to.
    assert len(ours) == len(set(ours)) == 8
    # No working mark of the build is left in the file.
    assert docxfields.EQUATION_MARK not in ours
    all_ids = [e.get(f"{W}id") for e in root.iter(etree.Element)
               if e.get(f"{W}id") is not None]
    assert not any(i.startswith(docxfields.PLACEHOLDER) for i in all_ids)


def test_long_and_alike_ids_get_distinct_bookmarks(tmp_path):
    long = "fig-" + "a-very-long-identifier-for-the-first-figure-of-the-paper"
    text = (_front("Ids") + f"See @{long}, @fig:b and @fig-b.\n\n"
            f"![One](bridge.svg){{#{long}}}\n\n![Two](counter.svg){{#fig:b}}\n\n"
            "![Three](counter.svg){#fig-b}\n")
    story = _story(_document(_docx(_paper(tmp_path / "paper", text))))
    refs = [(_words(f.instruction)[1], f.result) for f in story.fields
            if _words(f.instruction)[0] == "REF"]
    # fig:b and fig-b would both be _Ref_fig_b: each reference must still
    # reach its own figure, and the long id must fit Word's 40 characters.
    assert refs == [("_Ref_fig_a_very_long_identifier_for_the_", "1"),
                    ("_Ref_fig_b", "2"), ("_Ref_fig_b_2", "3")]
    assert all(updated == found.result for updated, found in
               zip(_update_fields(story).values(), story.fields, strict=True))


def test_german_labels_are_the_seq_identifiers(tmp_path):
    text = (_front("Felder", "lang: de") + "Siehe @fig-a und @tbl-x.\n\n"
            "![Brücke](bridge.svg){#fig-a}\n\n| A |\n|---|\n| 1 |\n\n"
            ": Summen {#tbl-x}\n")
    story = _story(_document(_docx(_paper(tmp_path / "paper", text))))
    # Word's Insert Caption "Abbildung" continues the same sequence, and its
    # table of figures lists ours under the label the reader sees.
    assert [f.instruction.strip() for f in story.fields
            if f.instruction.split()[0] == "SEQ"] == [
        "SEQ Abbildung \\* ARABIC", "SEQ Tabelle \\* ARABIC"]


# -- what must not change ------------------------------------------------------

def test_a_document_without_numbers_is_written_as_before(tmp_path, monkeypatch):
    paper = _paper(tmp_path / "paper",
                   _front("Plain") + "# Intro\n\nText $x$ and\n\n"
                   "$$ y^2 $$\n\n| A |\n|---|\n| 1 |\n\n"
                   "Inline ![](bridge.svg) image.\n")
    now = _docx(paper)
    monkeypatch.setattr(docxfields, "prepare", lambda doc: doc)
    monkeypatch.setattr(docxfields, "finish", lambda data: data)
    # The article has no figures: its Word file must not change by a byte.
    assert now == _docx(paper)


def test_the_same_document_gives_the_same_bytes(paper, built):
    again = _docx(paper)
    # Bookmark names and ids come from the document alone.
    assert again == built


def test_replace_members_keeps_every_entry_as_it_was(built):
    rewritten = docxfields.replace_members(built, {})
    with zipfile.ZipFile(io.BytesIO(built)) as a, \
            zipfile.ZipFile(io.BytesIO(rewritten)) as b:
        # Entry order, times and compression: what makes two builds equal.
        assert [(i.filename, i.date_time, i.compress_type) for i in a.infolist()] \
            == [(i.filename, i.date_time, i.compress_type) for i in b.infolist()]
        assert all(a.read(name) == b.read(name) for name in a.namelist())


def test_deleted_text_of_a_diff_keeps_plain_numbers():
    link = pf.Link(pf.Str("Figure\u00a0"), pf.Str("1"), url="#fig-a",
                   classes=["xref"], attributes={"xref-kind": "fig",
                                                 "xref-id": "fig-a",
                                                 "xref-number": "1"})
    label = pf.Span(pf.Str("Figure"), pf.Str("\u00a0"), pf.Str("1"),
                    classes=["xref-label"],
                    attributes={"xref-kind": "fig", "xref-number": "1"})
    figure = pf.Figure(pf.Plain(pf.Str("image")),
                       caption=pf.Caption(pf.Plain(label)), identifier="fig-a")
    doc = pf.Doc(pf.Div(figure, classes=["block-deletion"]),
                 pf.Para(pf.Span(link, classes=["deletion"])))
    out = docxfields.prepare(doc)
    raw = []
    out.walk(lambda e, _d: raw.append(e) if isinstance(e, pf.RawInline) else None)
    # The old version's numbers: a SEQ field there would be counted with
    # the new ones, and "Figure 2" would become "Figure 3" on update.
    assert raw == []
    assert isinstance(out.content[1].content[0].content[0], pf.Link)


@pytest.mark.slow
def test_build_docx_has_fields(tmp_path):
    paper = _paper(tmp_path / "paper")
    result = run_build("docx", "--manuscript", str(paper), "--out",
                       str(tmp_path / "dist"))
    assert result.returncode == 0, result.stderr
    story = _story(_document((tmp_path / "dist" / "paper.docx").read_bytes()))
    kinds = Counter(_words(f.instruction)[0] for f in story.fields)
    # `build.py docx` (the submission styles, A4): the same fields, and an
    # update shows the same numbers.
    assert kinds == {"REF": 11, "SEQ": 7}, kinds
    updated = _update_fields(story)
    assert all(updated[i] == f.result for i, f in enumerate(story.fields))


def test_labels_that_are_no_word_identifier(tmp_path):
    text = (_front("Labels", "crossref:", "  fig-title: Fig.",
                   "  tbl-title: Supplementary Table")
            + "![Bridge](bridge.svg){#fig-a}\n\n| A |\n|---|\n| 1 |\n\n"
            ": Sums {#tbl-x}\n")
    story = _story(_document(_docx(_paper(tmp_path / "paper", text))))
    # "Fig." is no SEQ name Word accepts (a field error in place of the
    # number); a label with a space is written as Word writes it.
    assert [f.instruction.strip() for f in story.fields] == [
        "SEQ Figure \\* ARABIC", "SEQ Supplementary_Table \\* ARABIC"]


@pytest.mark.slow
def test_the_diffs_word_file_numbers_the_new_version(tmp_path):
    old = _paper(tmp_path / "old", _front("Diff") + (
        "See @fig-gone, @fig-a and @eq-x.\n\n![Gone](counter.svg){#fig-gone}\n\n"
        "![Bridge](bridge.svg){#fig-a}\n\n$$ a^2 $$ {#eq-x}\n"))
    new = _paper(tmp_path / "new", _front("Diff") + (
        "See @fig-a, @eq-new and @eq-x.\n\n![Bridge](bridge.svg){#fig-a}\n\n"
        "$$ b = 1 $$ {#eq-new}\n\n$$ a^2 $$ {#eq-x}\n"))
    result = run_build("diff", "--files", str(old), str(new), "--out",
                       str(tmp_path / "out"), "--author", "Reviewer Two",
                       "--date", "2026-03-01T10:00:00Z")
    assert result.returncode == 0, result.stderr
    root = _document((tmp_path / "out" / "diff" / "paper-diff.docx").read_bytes())
    # The old version's "Figure 1" (removed) and its reference stay text: a
    # SEQ there would make Word renumber the new figure to 2 on update.
    deleted = [d for d in root.iter(f"{W}del") if d.find(f".//{W}fldChar") is not None]
    assert deleted == []
    story = _story(root)
    assert [(f.instruction.split()[:2], f.result) for f in story.fields] == [
        (["REF", "_Ref_fig_a"], "1"), (["REF", "_Ref_eq_new"], "1"),
        (["REF", "_Ref_eq_x"], "2"), (["SEQ", "Figure"], "1"),
        (["SEQ", "Equation"], "1"), (["SEQ", "Equation"], "2")]
    updated = _update_fields(story)
    assert all(updated[i] == f.result for i, f in enumerate(story.fields))
    # The inserted reference and equation are tracked with their fields.
    inserted = [" ".join(t.text.split()) for i in root.iter(f"{W}ins")
                for t in i.iter(f"{W}instrText")]
    assert inserted == ["REF _Ref_fig_a \\h", "REF _Ref_eq_new \\h",
                        "SEQ Equation \\* ARABIC"]
